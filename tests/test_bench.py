"""The bench's reference loops do the same work as regtui's trainer (timings live in the bench)."""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import new_store, write_idx
from regtui import bench
from regtui import bench_scale as scale
from regtui.cli import app
from regtui.cli.bench import _bench_names
from regtui.config import RunConfig
from regtui.events import read_events
from regtui.train.loop import Trainer
from regtui.train.setup import prepare


def test_bare_loop_trains_the_same_model_on_the_same_batches(tmp_path: Path) -> None:
    config = bench.bench_config("cpu", epochs=1)
    seen = []
    trainer = Trainer(prepare(config), new_store(tmp_path), seen.append)
    trainer.run("bench-test")
    regtui_loss = next(e.train_loss for e in seen if e.type == "epoch")
    (bare_loss,) = bench.bare_loop(prepare(config), epochs=1)
    assert bare_loss == regtui_loss  # same initial weights, same batches, same steps


@pytest.mark.parametrize("bare_first", [False, True])
def test_lockstep_times_both_sides_of_a_real_run(bare_first: bool, tmp_path: Path,
                                                 monkeypatch) -> None:
    turns = []
    bare_epochs = bench.bare_epochs

    def recorded(prepared):
        for result in bare_epochs(prepared):
            turns.append("bare")
            yield result

    def write(store, event) -> None:
        if event.type == "epoch":
            turns.append("regtui")
        store_write(store, event)

    store_write = bench.RunStore.write
    monkeypatch.setattr(bench, "bare_epochs", recorded)
    monkeypatch.setattr(bench.RunStore, "write", write)
    config = bench.bench_config("cpu", epochs=2)
    ours, theirs = bench.lockstep(config, tmp_path, bare_first=bare_first)
    assert turns == (["bare", "regtui", "bare", "regtui", "bare"] if bare_first
                     else ["regtui", "bare", "regtui", "bare", "bare"])  # the last: test set
    assert ours > 0 and theirs > 0
    (run_dir,) = tmp_path.iterdir()
    events = read_events(run_dir / "events.jsonl")
    assert [e.epoch for e in events if e.type == "epoch"] == [1, 2]
    assert events[-1].type == "run_finished" and events[-1].status == "completed"


def test_whole_run_pairs_alternate_which_side_goes_first(tmp_path: Path) -> None:
    order = []
    pair = bench.in_turn(lambda d: order.append("ours") or 1.0,
                         lambda d: order.append("theirs") or 2.0)
    assert [pair(tmp_path, index) for index in range(3)] == [(1.0, 2.0)] * 3
    assert order == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]


def test_w2_times_the_monitor_and_headless_runs_in_one_process(tmp_path: Path) -> None:
    config = bench.bench_config("cpu", epochs=1)
    monitor, headless = bench.monitor_and_headless(config, tmp_path, index=1)
    assert monitor > 0 and headless > 0
    runs = sorted(tmp_path.iterdir())
    assert len(runs) == 3  # the warm-up, then headless and monitor
    for run_dir in runs:
        events = read_events(run_dir / "events.jsonl")
        assert events[-1].type == "run_finished" and events[-1].status == "completed"


def test_textbook_loop_starts_from_the_same_weights_and_trains(tmp_path: Path) -> None:
    config = bench.bench_config("cpu", augment=True, epochs=1)
    ours, theirs = prepare(config), prepare(config)
    for (name, a), (_, b) in zip(ours.model.state_dict().items(),
                                 theirs.model.state_dict().items()):
        assert torch.equal(a, b), name
    (loss,) = bench.textbook_loop(theirs, epochs=1)
    assert math.isfinite(loss) and loss < math.log(10)


def test_bench_command_reports_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "-w", "W0", "--repeats", "2", "--epochs", "1",
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (row,) = report["results"]
    assert row["workload"] == "W0" and row["ours_seconds"] > 0 and row["theirs_seconds"] > 0
    assert len(row["ratios"]) == 2 and row["ratio"] == statistics.median(row["ratios"])
    assert report["env"]["device"] == "cpu"


def test_a_w0_pair_is_the_mean_of_runs_that_alternate_who_goes_first(tmp_path: Path,
                                                                     monkeypatch) -> None:
    runs = []
    monkeypatch.setattr(bench, "lockstep", lambda config, runs_dir, bare_first: runs.append(
        bare_first) or (1.0 + len(runs), 2.0 * len(runs)))
    assert bench.lockstep_runs(bench.bench_config("cpu"), tmp_path, 4) == (3.5, 5.0)
    assert runs == [False, True, False, True]


def test_bench_rejects_unknown_workloads() -> None:
    result = CliRunner().invoke(app, ["bench", "-w", "W9"])
    assert result.exit_code == 2
    assert "accepted: W0, W1, W2" in result.output


# ---------------------------------------------------------------- W3 and T98 (bench_scale)

def fake_t10k(folder: Path, count: int = 50, gz: bool = False) -> Path:
    """MNIST's t10k file pair, with a pixel that tells each image's class."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = torch.arange(count) % 10
    images = torch.randint(0, 256, (count, 28, 28), generator=torch.Generator().manual_seed(0))
    images[:, 0, 0] = labels * 20
    for stem, array in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        write_idx(folder / stem, array)
        if gz:
            packed = folder / f"{stem}.gz"
            packed.write_bytes(gzip.compress((folder / stem).read_bytes()))
            (folder / stem).unlink()
    return folder


def t98_config(epochs: int, batch_size: int = 16) -> RunConfig:
    config = scale.t98_config("cpu")
    return replace(config, train=replace(config.train, epochs=epochs, batch_size=batch_size))


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_t10k_is_read_from_idx_files_and_split_80_20(tmp_path: Path, gz: bool) -> None:
    folder = fake_t10k(tmp_path / "t10k", gz=gz)
    assert scale.find_mnist_t10k(folder) == folder
    train, val = scale.mnist_t10k(folder)
    assert (len(train), len(val)) == (40, 10)
    assert train.images.shape == (40, 1, 28, 28) and train.images.dtype == torch.uint8
    assert torch.equal(train.images[:, 0, 0, 0].long(), train.labels * 20)  # pairs kept
    assert torch.bincount(torch.cat([train.labels, val.labels])).tolist() == [5] * 10


def test_t98_without_the_mnist_files_exits_2_naming_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "-w", "T98", "--mnist", str(tmp_path)])
    assert result.exit_code == 2
    assert "t10k-images-idx3-ubyte" in result.output and "--mnist DIR" in result.output
    assert "Traceback" not in result.output


def test_t98_with_a_corrupt_idx_file_exits_2(tmp_path: Path) -> None:
    folder = fake_t10k(tmp_path / "t10k")
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    result = CliRunner().invoke(app, ["bench", "-w", "T98", "--mnist", str(folder),
                                      "--repeats", "1"])
    assert result.exit_code == 2
    assert "not an IDX file" in result.output and "Traceback" not in result.output


def test_textbook_sampler_replays_the_trainers_shuffle(tmp_path: Path, monkeypatch) -> None:
    data = scale.mnist_t10k(fake_t10k(tmp_path / "t10k"))
    drawn = []
    real_randperm = torch.randperm

    def recording(*args, **kwargs):
        order = real_randperm(*args, **kwargs)
        drawn.append(order.tolist())
        return order

    monkeypatch.setattr(torch, "randperm", recording)
    prepared = scale.prepared_for(t98_config(epochs=3), *data, "t10k")
    scale.regtui_epochs(prepared, tmp_path / "runs")
    monkeypatch.setattr(torch, "randperm", real_randperm)
    trainer_orders = [order for order in drawn if len(order) == len(data[0])]
    sampler = scale.SameOrder(len(data[0]), seed=0, device=torch.device("cpu"))
    assert len(trainer_orders) == 3
    assert [list(sampler) for _ in range(3)] == trainer_orders


def test_both_t98_contenders_start_from_the_same_weights(tmp_path: Path) -> None:
    data = scale.mnist_t10k(fake_t10k(tmp_path / "t10k"))
    ours, theirs = (scale.prepared_for(t98_config(1), *data, "t10k") for _ in range(2))
    for (name, a), (_, b) in zip(ours.model.state_dict().items(),
                                 theirs.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_t98_reports_the_time_the_target_is_first_reached(tmp_path: Path, monkeypatch) -> None:
    data = scale.mnist_t10k(fake_t10k(tmp_path / "t10k"))
    monkeypatch.setattr(scale, "T98_MAX_EPOCHS", 2)
    monkeypatch.setattr(scale, "T98_TARGET", 0.0)  # reached after the first epoch
    ours, theirs = scale.t98_regtui("cpu", data, tmp_path), scale.t98_textbook("cpu", data)
    assert 0 < ours < math.inf and 0 < theirs < math.inf
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name != "t10k"]
    epochs = [e for e in read_events(run / "events.jsonl") if e.type == "epoch"]
    assert len(epochs) == 1  # stopped at the target, not run on to the last epoch
    monkeypatch.setattr(scale, "T98_TARGET", 1.01)  # never reached
    assert scale.t98_regtui("cpu", data, tmp_path) == math.inf
    assert scale.t98_textbook("cpu", data) == math.inf


def test_w3_contenders_report_samples_per_second(tmp_path: Path) -> None:
    data = scale.cifar_shaped(64)
    assert data[0].images.shape == (64, 3, 32, 32) and data[0].images.dtype == torch.uint8
    ours, theirs = scale.w3_regtui("cnn", "cpu", data, tmp_path), scale.w3_textbook("cnn", "cpu", data)
    assert ours > 0 and theirs > 0
    assert re.fullmatch(r"\d+\.\d{3} TFLOP/s", scale.gpu_share("cnn", "cpu", ours))


def test_gpu_peaks_match_the_most_specific_name() -> None:
    assert scale.peak_flops("NVIDIA H100 PCIe") == 756e12
    assert scale.peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert scale.peak_flops("x86_64") is None


def test_w3_stands_for_both_models_and_gpus_run_everything() -> None:
    assert _bench_names(["W3", "W0", "W3-cnn"], "cpu") == ["W3-resnet18", "W3-cnn", "W0"]
    assert _bench_names([], "cpu") == ["W0", "W1", "W2"]
    assert _bench_names([], "cuda") == ["W0", "W1", "W2", "W3-resnet18", "W3-cnn", "T98"]
