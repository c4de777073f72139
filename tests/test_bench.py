"""The bench's reference loops do the same work as regtui's trainer (timings live in the
bench); its workloads pair, report and read runs as they say.

Tests that run a bench workload or pair (real runs on both sides, the bench command) are
marked `bench`: `make bench-test` runs them, `make test` does not. Argument checks, IDX
reading, exit codes and the small-scale reader workloads are unmarked: `make test` runs them.
"""

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

from helpers import new_store, write_idx
from regtui.bench import mnist, pairing, reference, report, rundirs, scale, trainer
from regtui.bench.workloads import Result, Workload, expand_names, measure
from regtui.cli import app
from regtui.config import RunConfig
from regtui.events import read_events
from regtui.rundir import RunStore, list_runs
from regtui.train.loop import Trainer
from regtui.train.setup import prepare


def small(config: RunConfig) -> RunConfig:
    """A bench run on 256 training images: the same code paths in a quarter of the time."""
    return replace(config, data=replace(config.data, train_subset=256))


@pytest.mark.bench
def test_bare_loop_trains_the_same_model_on_the_same_batches(tmp_path: Path) -> None:
    config = small(trainer.bench_config("cpu", epochs=1))
    seen = []
    Trainer(prepare(config), new_store(tmp_path), seen.append).run("bench-test")
    regtui_loss = next(e.train_loss for e in seen if e.type == "epoch")
    (bare_loss,) = reference.bare_loop(prepare(config), epochs=1)
    assert bare_loss == regtui_loss  # same initial weights, same batches, same steps


@pytest.mark.bench
@pytest.mark.parametrize("bare_first", [False, True])
def test_lockstep_times_both_sides_of_a_real_run(bare_first: bool, tmp_path: Path,
                                                 monkeypatch) -> None:
    turns = []
    bare_epochs = reference.bare_epochs

    def recorded(prepared):
        for result in bare_epochs(prepared):
            turns.append("bare")
            yield result

    def write(store, event) -> None:
        if event.type == "epoch":
            turns.append("regtui")
        store_write(store, event)

    store_write = RunStore.write
    monkeypatch.setattr(reference, "bare_epochs", recorded)
    monkeypatch.setattr(RunStore, "write", write)
    config = small(trainer.bench_config("cpu", epochs=2))
    ours, theirs = pairing.lockstep(config, tmp_path, bare_first=bare_first)
    assert turns == (["bare", "regtui", "bare", "regtui", "bare"] if bare_first
                     else ["regtui", "bare", "regtui", "bare", "bare"])  # the last: test set
    assert ours > 0 and theirs > 0
    (run_dir,) = tmp_path.iterdir()
    events = read_events(run_dir / "events.jsonl")
    assert [e.epoch for e in events if e.type == "epoch"] == [1, 2]
    assert events[-1].type == "run_finished" and events[-1].status == "completed"


def test_whole_run_pairs_alternate_which_side_goes_first(tmp_path: Path) -> None:
    order = []
    pair = pairing.in_turn(lambda d: order.append("ours") or 1.0,
                         lambda d: order.append("theirs") or 2.0)
    assert [pair(tmp_path, index) for index in range(3)] == [(1.0, 2.0)] * 3
    assert order == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]


@pytest.mark.bench
def test_w2_times_the_monitor_and_headless_runs_in_one_process(tmp_path: Path) -> None:
    config = trainer.bench_config("cpu", epochs=1)
    monitor, headless, ui_share = pairing.monitor_and_headless(config, tmp_path, index=1)
    assert monitor > 0 and headless > 0
    assert 0 < ui_share < 1  # the UI thread's CPU seconds per training second
    runs = sorted(tmp_path.iterdir())
    assert len(runs) == 3  # the warm-up, then headless and monitor
    for run_dir in runs:
        events = read_events(run_dir / "events.jsonl")
        assert events[-1].type == "run_finished" and events[-1].status == "completed"


@pytest.mark.bench
def test_textbook_loop_starts_from_the_same_weights_and_trains(tmp_path: Path) -> None:
    config = trainer.bench_config("cpu", augment=True, epochs=1)
    ours, theirs = prepare(config), prepare(config)
    for (name, a), (_, b) in zip(ours.model.state_dict().items(),
                                 theirs.model.state_dict().items()):
        assert torch.equal(a, b), name
    (loss,) = reference.textbook_loop(theirs, epochs=1)
    assert math.isfinite(loss) and loss < math.log(10)


@pytest.mark.bench
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
    monkeypatch.setattr(pairing, "lockstep", lambda config, runs_dir, bare_first: runs.append(
        bare_first) or (1.0 + len(runs), 2.0 * len(runs)))
    assert pairing.lockstep_runs(trainer.bench_config("cpu"), tmp_path, 4) == (3.5, 5.0)
    assert runs == [False, True, False, True]


def test_bench_rejects_unknown_workloads() -> None:
    result = CliRunner().invoke(app, ["bench", "-w", "W9"])
    assert result.exit_code == 2
    assert "accepted: W0, W1, W2" in result.output


# ---------------------------------------------------------------- W3 and T98 (bench.scale, bench.mnist)

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
    assert mnist.find_mnist_t10k(folder) == folder
    train, val = mnist.mnist_t10k(folder)
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
    data = mnist.mnist_t10k(fake_t10k(tmp_path / "t10k"))
    drawn = []
    real_randperm = torch.randperm

    def recording(*args, **kwargs):
        order = real_randperm(*args, **kwargs)
        drawn.append(order.tolist())
        return order

    monkeypatch.setattr(torch, "randperm", recording)
    prepared = scale.prepared_for(t98_config(epochs=3), *data, "t10k")
    trainer.regtui_epochs(prepared, tmp_path / "runs")
    monkeypatch.setattr(torch, "randperm", real_randperm)
    trainer_orders = [order for order in drawn if len(order) == len(data[0])]
    sampler = reference.SameOrder(len(data[0]), seed=0, device=torch.device("cpu"))
    assert len(trainer_orders) == 3
    assert [list(sampler) for _ in range(3)] == trainer_orders


def test_both_t98_contenders_start_from_the_same_weights(tmp_path: Path) -> None:
    data = mnist.mnist_t10k(fake_t10k(tmp_path / "t10k"))
    ours, theirs = (scale.prepared_for(t98_config(1), *data, "t10k") for _ in range(2))
    for (name, a), (_, b) in zip(ours.model.state_dict().items(),
                                 theirs.model.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.bench
def test_t98_reports_the_time_the_target_is_first_reached(tmp_path: Path, monkeypatch) -> None:
    data = mnist.mnist_t10k(fake_t10k(tmp_path / "t10k"))
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


@pytest.mark.bench
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
    assert expand_names(["W3", "W0", "W3-cnn"], "cpu") == ["W3-resnet18", "W3-cnn", "W0"]
    assert expand_names([], "cpu") == ["W0", "W1", "W2"]
    assert expand_names([], "cuda") == ["W0", "W1", "W2", "W3-resnet18", "W3-cnn", "T98"]


def test_t98_without_a_folder_or_the_env_var_says_so_in_one_line(monkeypatch) -> None:
    monkeypatch.delenv("REGTUI_MNIST_DIR", raising=False)
    result = CliRunner().invoke(app, ["bench", "-w", "T98", "--repeats", "1"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    for needed in ("--mnist DIR", "REGTUI_MNIST_DIR", "t10k-images-idx3-ubyte[.gz]",
                   "t10k-labels-idx1-ubyte[.gz]"):
        assert needed in line


def test_t98_finds_its_folder_through_the_env_var(tmp_path: Path, monkeypatch) -> None:
    folder = fake_t10k(tmp_path / "t10k", gz=True)
    monkeypatch.setenv("REGTUI_MNIST_DIR", str(folder))
    assert mnist.find_mnist_t10k(None) == folder
    assert mnist.find_mnist_t10k(tmp_path / "t10k") == folder  # the flag's folder first


def test_a_gpu_default_run_skips_t98_without_its_data(monkeypatch) -> None:
    from regtui.bench import workloads

    monkeypatch.delenv("REGTUI_MNIST_DIR", raising=False)
    asked = []
    monkeypatch.setattr(workloads, "environment", lambda device: {
        "device": "cuda:0", "device_name": "GPU", "torch": "x", "threads": 1})
    monkeypatch.setattr(workloads, "run", lambda names, *args: asked.extend(names) or [])
    result = CliRunner().invoke(app, ["bench", "--device", "cuda"])
    assert result.exit_code == 0, result.output
    assert asked == ["W0", "W1", "W2", "W3-resnet18", "W3-cnn"]
    assert "T98 skipped: it needs --mnist DIR or REGTUI_MNIST_DIR" in result.output


# ---------------------------------------------------------------- L1000 and S100k (bench.rundirs)

def test_synthetic_runs_are_real_runs_that_list_runs_reads_back(tmp_path: Path) -> None:
    runs_dir = rundirs.synthetic_runs(tmp_path / "runs", count=5, epochs=20)
    records = list_runs(runs_dir)
    assert len(records) == 5
    assert sorted(r.status for r in records) == sorted(
        rundirs.STATUSES[i % len(rundirs.STATUSES)] for i in range(5))
    for record in records:
        assert record.summary["epochs_completed"] == 20
        assert record.summary["epochs_planned"] == 20
        assert record.summary["run_id"] == record.run_id
        assert (record.path / "config.toml").is_file() and (record.path / "summary.json").is_file()
        written = json.loads((record.path / "summary.json").read_text())
        assert written["status"] == record.status and written["epochs_completed"] == 20
        events = read_events(record.path / "events.jsonl")
        assert [e.type for e in events[:1] + events[-1:]] == ["run_started", "run_finished"]
        assert sum(e.type == "step" for e in events) == 20
    assert rundirs.time_listing(runs_dir, expected=5) > 0
    with pytest.raises(RuntimeError, match="read 5 runs of 6"):
        rundirs.time_listing(runs_dir, expected=6)


def test_a_long_run_opens_with_every_epoch_counted_and_its_series_drawn_bounded(
        tmp_path: Path) -> None:
    run_dir = rundirs.write_run(tmp_path, epochs=5000, steps=1000)
    events = read_events(run_dir / "events.jsonl")
    assert sum(e.type == "epoch" for e in events) == 5000
    assert sum(e.type == "step" for e in events) == 1000
    summary, series = rundirs.open_run(run_dir)
    assert summary["status"] == "completed" and summary["epochs_completed"] == 5000
    assert set(series) == set(rundirs.MONITOR_SERIES)
    for epochs, values in series.values():  # downsampled as the monitor draws them
        assert len(epochs) == len(values) <= 600 and epochs[0] == 1 and epochs[-1] == 5000
    # This test's process has a larger peak than the child's whole use: a child that
    # inherited it (ru_maxrss through fork and exec) would show no growth.
    seconds, grown = rundirs.measure_open_in_a_fresh_process(run_dir)
    assert seconds > 0 and grown > 4 * 2**20


def test_measure_judges_a_workload_without_reference_by_its_own_measure(tmp_path: Path) -> None:
    times = iter([0.5, 1.5, 0.7])
    work = Workload("L9", "list", "list_runs", None, pairing.alone(lambda d: next(times)),
                    None, "< 1 s", lambda seconds: seconds < 1.0, warmup=False,
                    peak_bytes=lambda: 3 * 2**20)
    result = measure(work, "cpu", 3, tmp_path)
    assert (result.ours_seconds, result.theirs, result.theirs_seconds) == (0.7, None, None)
    assert (result.ratio, result.ratios, result.met, result.peak_mb) == (None, (), True, 3.0)


def test_the_report_shows_a_workload_without_reference() -> None:
    from rich.console import Console

    alone = Result("L1000", "list 1,000 runs", "list_runs", None, 4.2, None, None, "< 1 s",
                   False, "regtui bench --workload L1000", peak_mb=12.0)
    paired = Result("W0", "digits", "regtui", "bare loop", 1.0, 1.1, 0.909, "regtui/bare <= 1.03",
                    True, "regtui bench --workload W0", ratios=(0.9, 0.909, 0.95))
    console = Console(width=200, record=True)
    console.print(report.table([alone, paired]))
    rows = console.export_text().splitlines()
    l1000 = next(row for row in rows if row.startswith("L1000"))
    assert "list_runs 4.200s, peak +12 MB" in l1000 and "< 1 s" in l1000
    assert l1000.split()[-1] == "no" and " - " in l1000  # no reference, no ratio
    assert "0.909 (0.900-0.950)" in next(row for row in rows if row.startswith("W0"))
    (row, _) = json.loads(report.to_json({"device": "cpu"}, [alone, paired]))["results"]
    assert row["theirs"] is None and row["ratio"] is None and row["met"] is False


def test_reader_workloads_measure_list_and_open(tmp_path: Path, monkeypatch) -> None:
    from regtui.bench import workloads

    monkeypatch.setattr(rundirs, "L1000_RUNS", 4)
    monkeypatch.setattr(rundirs, "L1000_EPOCHS", 10)
    monkeypatch.setattr(rundirs, "S100K_EPOCHS", 50)
    lines = []
    l1000, s100k = workloads.run(["L1000", "S100k"], "cpu", 2, progress=lines.append,
                                 s100k_steps=100)
    assert l1000.workload == "L1000" and l1000.theirs is None and len(l1000.ratios) == 0
    assert l1000.met == (l1000.ours_seconds < 1.0)
    assert s100k.ours == "show opens it" and s100k.peak_mb is not None and s100k.ours_seconds > 0
    assert any(line.startswith("L1000: writing 4 runs of 10 epochs:") for line in lines)
    assert sum(line.startswith("S100k: writing") for line in lines) == 2  # once, before and after


def test_bench_command_reports_a_reader_workload_as_json(monkeypatch) -> None:
    monkeypatch.setattr(rundirs, "L1000_RUNS", 3)
    monkeypatch.setattr(rundirs, "L1000_EPOCHS", 5)
    result = CliRunner().invoke(app, ["bench", "-w", "L1000", "--repeats", "2", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)["results"]
    assert row["workload"] == "L1000" and row["goal"] == "< 1 s" and row["ours_seconds"] > 0
    assert row["theirs"] is None and row["theirs_seconds"] is None and row["ratio"] is None
    assert row["met"] == (row["ours_seconds"] < 1.0)


def test_a1_times_a_users_loop_with_and_without_run_log(tmp_path: Path) -> None:
    from regtui.bench import api_log

    with_log, without = api_log.pair(1, "cpu", tmp_path, index=1)
    assert with_log > 0 and without > 0
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    events = read_events(run_dir / "events.jsonl")
    assert events[0].source == "api" and sum(e.type == "epoch" for e in events) == 1
