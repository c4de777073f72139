from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REQUIRED_PRESETS
from regtui import presets
from regtui.config import ConfigError


@pytest.mark.parametrize("name", REQUIRED_PRESETS)
def test_builtin_preset_loads_with_an_actionable_description(name: str) -> None:
    preset = presets.load(name)
    assert preset.builtin and preset.group in presets.GROUPS
    assert len(preset.description) > 80  # what it changes, why, typical values
    assert preset.summary and len(preset.summary) < 60
    if name != "baseline":
        assert preset.settings, f"{name} changes nothing"


def test_presets_compose_left_to_right_then_set_then_flags() -> None:
    resolved = presets.resolve(["dropout", "he"], ["model.dropout=0.3"],
                               {"train": {"epochs": 7}})
    assert resolved.presets == ("dropout", "he")
    assert resolved.config.model.dropout == 0.3
    assert resolved.config.init.scheme == "kaiming_normal"
    assert resolved.config.train.epochs == 7
    later = presets.resolve(["he", "xavier"]).config.init.scheme
    assert later == "xavier_uniform"


def test_flags_override_set() -> None:
    resolved = presets.resolve([], ["train.epochs=3"], {"train": {"epochs": 9}})
    assert resolved.config.train.epochs == 9


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        presets.load("dropuot")
    message = str(caught.value)
    assert "unknown preset 'dropuot'" in message
    assert all(name in message for name in REQUIRED_PRESETS)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_user_presets_and_paths(isolated: Path) -> None:
    _write(isolated / "config" / "regtui" / "presets" / "mine.toml",
           '[preset]\ndescription = "my own"\n[model]\ndropout = 0.1\n')
    assert presets.load("mine").settings == {"model": {"dropout": 0.1}}
    assert "mine" in presets.known_names()
    by_path = _write(isolated / "elsewhere" / "p.toml",
                     '[preset]\ndescription = "x"\n[train]\nlr = 0.5\n')
    assert presets.load(str(by_path)).settings == {"train": {"lr": 0.5}}


@pytest.mark.parametrize("text, needle", [
    ("[preset\ndescription = 'x'\n", "TOML syntax error"),
    ("[preset]\ndescription = 'x'\n[model]\ndropuot = 0.5\n", "unknown key model.dropuot"),
    ("[preset]\ndescription = 'x'\n[model]\ndropout = 'high'\n", "model.dropout = \"high\" is not a number"),
    ("[model]\ndropout = 0.5\n", "needs a [preset] table with a description"),
    ("[preset]\ndescription = 'x'\ncolour = 'red'\n", "unknown key preset.colour"),
])
def test_bad_preset_files_name_the_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as caught:
        presets.load(str(path))
    assert str(path) in str(caught.value)
    assert needle in str(caught.value)


def test_settings_toml_shows_what_the_preset_changes() -> None:
    assert presets.settings_toml(presets.load("l2")) == "[regularization]\nl2 = 0.001\n"
    assert "changes nothing" in presets.settings_toml(presets.load("baseline"))


def test_explicit_settings_are_what_the_presets_do_not_explain() -> None:
    from regtui.config import to_dict

    run = presets.resolve(["dropout", "l2"], ["model.dropout=0.3", "model.hidden=[64]"],
                          {"train": {"lr": 0.01}})
    explicit = presets.explicit_settings(run.presets, to_dict(run.config))
    assert explicit == {"model": {"dropout": 0.3, "hidden": [64]}, "train": {"lr": 0.01}}
    # carried over onto other presets, they keep winning, as --set does
    again = presets.resolve(["batchnorm"], (), explicit)
    assert again.config.model.dropout == 0.3 and again.config.model.hidden == (64,)
    assert again.config.model.batchnorm and again.config.regularization.l2 == 0


def test_explicit_settings_of_a_run_whose_preset_is_gone_are_its_changes() -> None:
    from regtui.config import to_dict

    run = presets.resolve(["dropout"])
    explicit = presets.explicit_settings(["deleted-user-preset"], to_dict(run.config))
    assert explicit == {"model": {"dropout": run.config.model.dropout}}
