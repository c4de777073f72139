"""The docs cannot drift: generated pages match their generator, links resolve, the README stays short."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from regtui import config_docs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

README_LIMIT = 15_000  # characters: a newcomer's page, the rest lives in docs/

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
EXTERNAL = ("http://", "https://", "mailto:")


def _prose(text: str) -> str:
    """The text without fenced code blocks (their `#` lines are not headings)."""
    return FENCE.sub("", text)


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped,
    spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(_prose(page.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _relative_links(page: Path) -> list[str]:
    prose = INLINE_CODE.sub("", _prose(page.read_text(encoding="utf-8")))
    return [target for target in LINK.findall(prose) if not target.startswith(EXTERNAL)]


def test_configuration_page_is_generated_from_the_config_fields() -> None:
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert committed == config_docs.render(), (
        "docs/configuration.md differs from the config fields: run `make docs`")


def test_configuration_page_documents_every_setting() -> None:
    from regtui import config

    page = config_docs.render()
    for section, cls in config.SECTIONS.items():
        for field in cls.__dataclass_fields__:
            assert f"`{section}.{field}`" in page


def test_readme_is_a_short_page_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text) <= README_LIMIT, f"README.md has {len(text):,} characters"
    assert "make run" in text
    assert "make test" in text


def test_readme_lists_every_builtin_preset_with_its_summary() -> None:
    text = README.read_text(encoding="utf-8")
    for path in sorted((ROOT / "presets").glob("*.toml")):
        summary = tomllib.loads(path.read_text(encoding="utf-8"))["preset"]["summary"]
        assert f"| `{path.stem}` |" in text, f"README's preset table lacks {path.stem}"
        assert summary in text, f"README's preset table has an old summary of {path.stem}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_points_to_a_file_that_exists(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_link_checker_finds_links() -> None:
    # Guards the checker itself: a regex that matched nothing would pass every page.
    assert "docs/configuration.md" in _relative_links(README)
    assert "augment" in _anchors(DOCS / "configuration.md")


def test_the_generator_runs_without_torch() -> None:
    code = ("import sys, regtui.config_docs as d; d.render(); "
            "assert 'torch' not in sys.modules, 'config_docs imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
