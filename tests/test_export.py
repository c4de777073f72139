"""Every export format written from a real tiny run and read back; torn runs too."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import tiny
from regtui import train
from regtui.cli import app
from regtui.views.export import CSV_COLUMNS, export


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    runs_dir = tmp_path_factory.mktemp("runs")
    run_dir, _ = train.start(tiny(epochs=3), runs_dir)
    return run_dir


def test_csv_has_one_row_per_epoch(finished_run: Path, tmp_path: Path) -> None:
    path = export(finished_run, "csv", tmp_path / "run.csv")
    rows = list(csv.DictReader(path.open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert 0 < float(rows[-1]["val_acc"]) <= 1 and float(rows[0]["weight_norm"]) > 0


def test_json_has_summary_and_every_epoch(finished_run: Path, tmp_path: Path) -> None:
    data = json.loads(export(finished_run, "json", tmp_path / "run.json").read_text())
    assert data["summary"]["status"] == "completed"
    assert [e["epoch"] for e in data["epochs"]] == [1, 2, 3]
    assert "layer_grad_norms" in data["epochs"][0]["extras"]


def test_default_exports_never_touch_the_runs_own_summary(finished_run: Path) -> None:
    before = (finished_run / "summary.json").read_text()
    written = export(finished_run, "json")
    assert written == finished_run / "export.json"
    assert (finished_run / "summary.json").read_text() == before


def test_markdown_has_table_plot_alerts_confusion_and_config(finished_run: Path,
                                                             tmp_path: Path) -> None:
    text = export(finished_run, "md", tmp_path / "run.md").read_text()
    for needle in ("| status | completed |", "## Curves", "loss", "## Alerts",
                   "## Confusion matrix", "[train]", "| diagnosis |"):
        assert needle in text
    assert "\x1b[" not in text  # no terminal colour codes


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs).get("src", ""))


def test_html_is_one_self_contained_page(finished_run: Path, tmp_path: Path) -> None:
    page = export(finished_run, "html", tmp_path / "run.html").read_text()
    parser = _Collect()
    parser.feed(page)
    assert "html" in parser.tags and "div" in parser.tags
    assert parser.scripts and all(src == "" for src in parser.scripts)  # nothing fetched
    assert "Plotly.newPlot" in page and "val_loss" in page


def test_tensorboard_files_read_back_with_eventaccumulator(finished_run: Path,
                                                          tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = export(finished_run, "tensorboard", tmp_path / "tb")
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    tags = accumulator.Tags()["scalars"]
    assert {"loss/train", "loss/val", "accuracy/train", "accuracy/val", "lr",
            "grad_norm"} <= set(tags)
    assert [s.step for s in accumulator.Scalars("loss/val")] == [1, 2, 3]
    summary = json.loads((finished_run / "summary.json").read_text())
    assert accumulator.Scalars("accuracy/val")[-1].value == pytest.approx(
        summary["final"]["val_acc"])
    hparams = EventAccumulator(str(folder))  # add_hparams writes the config and metrics
    hparams.Reload()
    plugins = hparams.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in plugins


def test_exports_work_on_a_torn_interrupted_run(finished_run: Path, tmp_path: Path) -> None:
    torn = tmp_path / "torn"
    torn.mkdir()
    for name in ("config.toml",):
        (torn / name).write_text((finished_run / name).read_text())
    lines = (finished_run / "events.jsonl").read_text().splitlines()
    kept = [line for line in lines if '"run_finished"' not in line]
    (torn / "events.jsonl").write_text("\n".join(kept) + '\n{"v": 1, "type": "epo')
    for fmt in ("md", "json", "csv", "html", "tensorboard"):
        export(torn, fmt)
    assert "| status | interrupted |" in (torn / "export.md").read_text()


def test_export_command(finished_run: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(finished_run), "-f", "csv", "-f", "md"])
    assert result.exit_code == 0, result.output
    assert (finished_run / "export.csv").is_file() and (finished_run / "export.md").is_file()
    bad = runner.invoke(app, ["export", str(finished_run), "-f", "pdf"])
    assert bad.exit_code == 2 and "accepted: md, json, csv, html, tensorboard, all" in bad.output
    both = runner.invoke(app, ["export", str(finished_run), "-f", "all", "-o", "x"])
    assert both.exit_code == 2 and "-o names one file" in both.output


def test_show_plain_prints_the_run(finished_run: Path) -> None:
    result = CliRunner().invoke(app, ["show", str(finished_run), "--plain"])
    assert result.exit_code == 0, result.output
    assert "| status | completed |" in result.output and "## Curves" in result.output


def test_watch_without_a_running_run_says_so(runs_dir: Path) -> None:
    result = CliRunner().invoke(app, ["watch"])
    assert result.exit_code == 2 and "no run is running" in result.output


def test_compare_shows_only_differing_keys_and_attributes_the_change(finished_run: Path,
                                                                     tmp_path: Path) -> None:
    from regtui.views.compare import compare
    from regtui.rundir import RunData

    other, _ = train.start(tiny("model.dropout=0.3", epochs=3), tmp_path)
    comparison = compare([RunData.load(finished_run), RunData.load(other)])
    assert comparison.differing == {"model.dropout": [0.0, 0.3]}
    sentence = comparison.attribution(1)
    assert sentence.startswith("model.dropout 0.300 (vs 0.000): final gap ")
    assert "best val acc" in sentence and "→" in sentence
    result = CliRunner().invoke(app, ["compare", str(finished_run), str(other), "--plain"])
    import traceback
    assert result.exit_code == 0, "".join(traceback.format_exception(*result.exc_info))
    assert "model.dropout" in result.output and "#2 vs #1: model.dropout 0.300" in result.output
    assert "val_acc" in result.output and "train.lr" not in result.output
    alone = CliRunner().invoke(app, ["compare", str(finished_run)])
    assert alone.exit_code == 2 and "at least two runs" in alone.output
