"""The bench's reference loops do the same work as regtui's trainer (timings live in the bench)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from typer.testing import CliRunner

from regtui import bench
from regtui.cli import app
from regtui.train.loop import Trainer
from regtui.train.setup import prepare


def test_bare_loop_trains_the_same_model_on_the_same_batches(tmp_path: Path) -> None:
    config = bench.bench_config("cpu", epochs=1)
    seen = []
    trainer = Trainer(prepare(config), tmp_path, seen.append)
    trainer.run("bench-test")
    regtui_loss = next(e.train_loss for e in seen if e.type == "epoch")
    (bare_loss,) = bench.bare_loop(prepare(config), epochs=1)
    assert bare_loss == regtui_loss  # same initial weights, same batches, same steps


def test_textbook_loop_starts_from_the_same_weights_and_trains(tmp_path: Path) -> None:
    config = bench.bench_config("cpu", augment=True, epochs=1)
    ours, theirs = prepare(config), prepare(config)
    for (name, a), (_, b) in zip(ours.model.state_dict().items(),
                                 theirs.model.state_dict().items()):
        assert torch.equal(a, b), name
    (loss,) = bench.textbook_loop(theirs, epochs=1)
    assert math.isfinite(loss) and loss < math.log(10)


def test_bench_command_reports_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "-w", "W0", "--repeats", "1", "--epochs", "1",
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (row,) = report["results"]
    assert row["workload"] == "W0" and row["ours_seconds"] > 0 and row["theirs_seconds"] > 0
    assert row["ratio"] == row["ours_seconds"] / row["theirs_seconds"]
    assert report["env"]["device"] == "cpu"


def test_bench_rejects_unknown_workloads() -> None:
    result = CliRunner().invoke(app, ["bench", "-w", "W9"])
    assert result.exit_code == 2
    assert "accepted: W0, W1, W2" in result.output
