"""Hardening of runs: resume that means what it says, errors while writing, readers that
never fall over, security of what is loaded and shown, and the smaller kinds (usage errors
in one line, TensorBoard re-export, compact plot ticks).

Every test here failed on the code before issue 14. Real parts throughout: real runs, a
real full disk (a 200 KB tmpfs), a real second process holding a run's lock, a real
read-only mount, real torch cache files."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from helpers import plant_pretrained_weights, tiny
from regtui import train
from regtui.cli import app
from regtui.control import Control
from regtui.events import Alert, Epoch, RunFinished, read_events
from regtui.rundir import fold_summary, list_runs, load_summary

SMALL = ["--set", "data.train_subset=240", "--set", "model.hidden=[32]", "--device", "cpu"]


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, code: int = 2) -> str:
    """The run's exit status is `code` and it said what was wrong in one line, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "╭" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("regtui:")]
    assert len(lines) == 1, result.output
    return lines[0]


def snapshot(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run directory, byte for byte (hidden files too)."""
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}


def run_to_end(*assignments: str, epochs: int, runs_dir: Path, stop_after: int | None = None,
               preset_names=()) -> tuple[Path, RunFinished, list]:
    """A real tiny run; with stop_after, interrupted (as by Ctrl-C) after that epoch."""
    control = Control()
    seen: list = []

    def stop(event) -> None:
        if stop_after and isinstance(event, Epoch) and event.epoch == stop_after:
            control.stop("interrupted")

    run_dir, finished = train.start(
        tiny("train.checkpoint_seconds=0", *assignments, epochs=epochs,
             preset_names=preset_names), runs_dir, listeners=[seen.append, stop],
        control=control)
    return run_dir, finished, seen


def forget_the_end(run_dir: Path) -> None:
    """As if the process had been killed just before it wrote run_finished."""
    events = run_dir / "events.jsonl"
    kept = [line for line in events.read_text().splitlines() if '"run_finished"' not in line]
    events.write_text("\n".join(kept) + "\n")
    (run_dir / "summary.json").unlink()


# ====================================================================== 3. resume

@pytest.mark.parametrize("setup, extra, needle", [
    ("early-stopped", [], "ended by early stopping"),
    ("diverged", [], "diverged"),
    ("completed", [], "already completed its 2 epochs"),
    ("completed", ["--epochs", "2"], "--epochs 2 is not more than that"),
])
def test_resume_refuses_a_finished_run_and_changes_nothing(setup: str, extra: list[str],
                                                           needle: str, runs_dir: Path) -> None:
    settings = {"early-stopped": ["regularization.early_stopping=true",
                                  "regularization.patience=1", "regularization.min_delta=10"],
                "diverged": ["train.optimizer=sgd", "train.lr=10"],
                "completed": []}[setup]
    run_dir, finished, _ = run_to_end(*settings, epochs=2 if setup == "completed" else 6,
                                      runs_dir=runs_dir)
    assert finished.status == ("diverged" if setup == "diverged" else "completed")
    before = snapshot(run_dir)
    line = one_line_error(invoke("run", "--resume", run_dir.name, *extra))
    assert needle in line
    assert f"regtui run --config {run_dir / 'config.toml'}" in line  # what to do instead
    assert snapshot(run_dir) == before
    assert load_summary(run_dir)["status"] == finished.status


@pytest.mark.parametrize("scheduler", ["none", "step", "plateau"])
def test_a_completed_run_extends_when_its_schedule_has_no_length(scheduler: str,
                                                                 runs_dir: Path) -> None:
    run_dir, _, _ = run_to_end(f"train.scheduler={scheduler}", "train.step_size=1",
                               epochs=2, runs_dir=runs_dir)
    resumed: list = []
    _, finished = train.resume(run_dir, epochs=4, listeners=[resumed.append])
    assert finished.status == "completed" and finished.test_acc is not None
    assert [e.epoch for e in resumed if isinstance(e, Epoch)] == [3, 4]
    if scheduler == "step":  # the schedule goes on where it was: one more decay per epoch
        lrs = [e.lr for e in read_events(run_dir / "events.jsonl") if isinstance(e, Epoch)]
        assert lrs == pytest.approx([1e-3, 1e-4, 1e-5, 1e-6])
    assert "epochs = 4" in (run_dir / "config.toml").read_text()
    assert load_summary(run_dir)["epochs_completed"] == 4


@pytest.mark.parametrize("scheduler", ["cosine", "onecycle"])
@pytest.mark.parametrize("state", ["completed", "interrupted"])
def test_a_length_bound_schedule_is_never_stretched(scheduler: str, state: str,
                                                    runs_dir: Path) -> None:
    run_dir, _, _ = run_to_end(f"train.scheduler={scheduler}", epochs=3, runs_dir=runs_dir,
                               stop_after=2 if state == "interrupted" else None)
    before = snapshot(run_dir)
    line = one_line_error(invoke("run", "--resume", run_dir.name, "--epochs", "5"))
    assert f"{scheduler} learning-rate schedule" in line and "--epochs 5" in line
    assert snapshot(run_dir) == before  # config.toml not rewritten: later resumes still work
    if state == "interrupted":
        result = invoke("run", "--resume", run_dir.name)
        assert result.exit_code == 0, result.output
        assert load_summary(run_dir)["status"] == "completed"


def test_an_interrupted_onecycle_run_resumes_like_an_unbroken_one(runs_dir: Path) -> None:
    unbroken = [e for e in run_to_end("train.scheduler=onecycle", epochs=3,
                                      runs_dir=runs_dir)[2] if isinstance(e, Epoch)]
    run_dir, finished, _ = run_to_end("train.scheduler=onecycle", epochs=3, runs_dir=runs_dir,
                                      stop_after=1)
    assert finished.status == "interrupted"
    resumed: list = []
    _, finished = train.resume(run_dir, listeners=[resumed.append])
    assert finished.status == "completed"
    again = [e for e in resumed if isinstance(e, Epoch)]
    assert [(e.epoch, e.lr, e.train_loss) for e in again] == \
        [(e.epoch, e.lr, e.train_loss) for e in unbroken[1:]]


def test_a_run_killed_before_its_final_test_is_tested_and_finished(runs_dir: Path) -> None:
    run_dir, finished, _ = run_to_end(epochs=2, runs_dir=runs_dir)
    forget_the_end(run_dir)
    assert list_runs(runs_dir)[0].status == "interrupted"
    result = invoke("run", "--resume", run_dir.name)
    assert result.exit_code == 0, result.output
    summary = load_summary(run_dir)
    assert summary["status"] == "completed" and summary["epochs_completed"] == 2
    assert summary["test_acc"] == pytest.approx(finished.test_acc)
    resumed = read_events(run_dir / "events.jsonl")
    assert [e.epoch for e in resumed if isinstance(e, Epoch)] == [1, 2]  # no epoch retrained


def test_a_diverged_run_killed_before_run_finished_ends_diverged(runs_dir: Path) -> None:
    run_dir, finished, _ = run_to_end("train.optimizer=sgd", "train.lr=10", epochs=4,
                                      runs_dir=runs_dir)
    assert finished.status == "diverged"
    forget_the_end(run_dir)
    result = invoke("run", "--resume", run_dir.name)
    assert result.exit_code == 1, result.output
    summary = load_summary(run_dir)
    assert summary["status"] == "diverged" and summary["epochs_completed"] == 1


def test_divergence_is_still_caught_after_a_resume(runs_dir: Path) -> None:
    # A checkpoint of a diverging epoch whose divergence alert has already fired (one
    # written before the end of a run was kept in last.pt): the restored detector stays
    # quiet, and the trainer must stop the resumed run as diverged all the same.
    run_dir, _, _ = run_to_end("train.optimizer=sgd", "train.lr=30", epochs=4,
                               runs_dir=runs_dir)
    forget_the_end(run_dir)
    state = torch.load(run_dir / "last.pt", weights_only=True)
    assert json.loads(state["diagnoser"])["fired"] == {"divergence": "critical"}
    state.pop("ending")
    torch.save(state, run_dir / "last.pt")
    resumed: list = []
    _, finished = train.resume(run_dir, listeners=[resumed.append])
    epochs = [e for e in resumed if isinstance(e, Epoch)]
    assert finished.status == "diverged", [e.train_loss for e in epochs]
    assert len(epochs) == 1 and epochs[0].train_loss > 23  # finite, far above a guess


def _torch_pickle_of(obj) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["empty", "truncated", "random", "other model", "a list",
                                    "code"])
def test_a_damaged_last_pt_is_one_line_and_changes_nothing(damage: str, runs_dir: Path,
                                                           tmp_path: Path) -> None:
    run_dir, _, _ = run_to_end(epochs=3, runs_dir=runs_dir, stop_after=1)
    last = run_dir / "last.pt"
    marker = tmp_path / "ran"
    payload = {
        "empty": b"",
        "truncated": last.read_bytes()[: last.stat().st_size // 2],
        "random": os.urandom(4096),
        "other model": _torch_pickle_of({**torch.load(last, weights_only=True),
                                         "model": {"0.weight": torch.zeros(3, 3)}}),
        "a list": _torch_pickle_of([1, 2, 3]),
        "code": pickle.dumps(_RunsCode(str(marker))),
    }[damage]
    last.write_bytes(payload)
    before = snapshot(run_dir)
    line = one_line_error(invoke("run", "--resume", run_dir.name))
    assert "last.pt" in line and "cannot resume" in line
    assert snapshot(run_dir) == before
    assert not marker.exists()


class _RunsCode:
    """Unpickling this runs `touch marker`: what a planted file would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_resume_refuses_while_another_process_holds_the_run(runs_dir: Path) -> None:
    run_dir, _, _ = run_to_end(epochs=3, runs_dir=runs_dir, stop_after=1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'r+'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(120)",
         str(run_dir / "run.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(run_dir)
        line = one_line_error(invoke("run", "--resume", run_dir.name))
        assert "another process" in line
        assert snapshot(run_dir) == before
    finally:
        holder.kill()
        holder.wait()
    result = invoke("run", "--resume", run_dir.name)  # the lock is free again
    assert result.exit_code == 0, result.output


def test_the_console_judges_the_whole_run_after_a_resume(runs_dir: Path) -> None:
    settings = ("data.train_subset=40", "model.hidden=[256]", "train.lr=0.01",
                "alerts.overfit_patience=1")
    run_dir, _, seen = run_to_end(*settings, epochs=10, runs_dir=runs_dir, stop_after=8)
    assert any(isinstance(e, Alert) and e.kind == "overfitting" for e in seen)
    result = invoke("run", "--resume", run_dir.name)
    assert result.exit_code == 0, result.output
    verdict = load_summary(run_dir)["diagnosis"]["verdict"]
    assert verdict.startswith("overfitting")
    assert f"diagnosis: {verdict}" in result.output


# ====================================================================== 4. errors while writing

@contextmanager
def tmpfs(path: Path, size: str = "200k"):
    """A real small filesystem (as root); the test is skipped where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path) -> None:
    """Take every free byte of the filesystem holding `folder`."""
    try:
        with open(folder / "filler", "wb", buffering=0) as handle:
            while True:
                handle.write(b"\0" * 4096)
    except OSError:  # ENOSPC: full
        pass


def cli(*args: str, runs_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGTUI_RUNS_DIR": str(runs_dir)}
    return subprocess.run([sys.executable, "-m", "regtui.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def assert_whole(run_dir: Path) -> None:
    """Nothing half-written left as if whole: every event line parses, no temporary file,
    every checkpoint that is there loads."""
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # files, folders
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        json.loads(line)
    for name in ("last.pt", "best.pt"):
        if (run_dir / name).exists():
            torch.load(run_dir / name, weights_only=True)


def test_a_full_disk_fails_the_run_in_one_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        result = cli("run", "--headless", *SMALL, "--set", "model.hidden=[256]",
                     "--set", "train.checkpoint_seconds=0", "--epochs", "30", runs_dir=disk)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 1 and "No space left on device" in errors[0], result.stderr
        (run_dir,) = disk.iterdir()
        assert_whole(run_dir)
        (record,) = list_runs(disk)
        assert record.status == "failed" and "No space left" in record.summary["error"]
        # export to the full disk: one line, and no empty or partial file left
        fill(disk)
        exported = cli("export", run_dir.name, "-f", "md", runs_dir=disk)
        assert exported.returncode == 2 and len(exported.stderr.strip().splitlines()) == 1
        assert "No space left" in exported.stderr
        assert not (run_dir / "export.md").exists()
        board = cli("export", run_dir.name, "-f", "tensorboard", runs_dir=disk)
        assert board.returncode == 2 and len(board.stderr.strip().splitlines()) == 1, \
            board.stderr
        assert not (run_dir / "tensorboard").exists()
        assert_whole(run_dir)


def test_a_write_error_in_the_store_ends_the_run_failed(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        run_dir, finished = train.start(tiny("model.hidden=[256]", "train.checkpoint_seconds=0",
                                             epochs=30), disk)
        assert finished.status == "failed"
        assert finished.error.startswith("cannot write") and "No space left" in finished.error
        assert not (run_dir / "error.txt").exists()  # the disk, not the code: no traceback
        assert_whole(run_dir)
        assert load_summary(run_dir)["status"] == "failed"


def test_a_runs_dir_on_a_full_disk_leaves_no_half_made_run(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        fill(disk)
        result = cli("run", "--headless", *SMALL, "--epochs", "1", runs_dir=disk / "runs")
        assert result.returncode == 2, result.stdout + result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert not (disk / "runs").exists() or not list((disk / "runs").iterdir())


# ====================================================================== 5. readers

# name: (event type to spoil, change, whether the whole line is skipped). A known key of
# a table inside an event (model params, extras, samples) is dropped; the line stays.
BAD_LINES = {
    "epoch as words": ("epoch", lambda o: o.update(epoch="two"), True),
    "val_acc as words": ("epoch", lambda o: o.update(val_acc="high"), True),
    "config not a table": ("run_started", lambda o: o.update(config=[1, 2]), True),
    "presets not a list": ("run_started", lambda o: o.update(presets="dropout"), True),
    "extras not a table": ("epoch", lambda o: o.update(extras="x"), True),
    "alert level a number": ("alert", lambda o: o.update(level=3), True),
    "status a table": ("run_finished", lambda o: o.update(status={"a": 1}), True),
    "matrix of words": ("run_finished", lambda o: o.update(confusion_matrix=[["a"]]), True),
    "a bare list": (None, None, True),
    "params as words": ("run_started", lambda o: o["model"].update(params="many"), False),
    "layer norms as words": ("epoch", lambda o: o["extras"].update(layer_grad_norms="x"),
                             False),
    "samples garbage": ("run_finished", lambda o: o.update(samples={"shape": "x"}), False),
    "pixels not base64": ("run_finished", lambda o: o["samples"]["pixels"].__setitem__(0, "!"),
                          False),
    "precision a number": ("run_started", lambda o: o["env"].update(precision=16), False),
}


def _spoil(run_dir: Path, kind: str | None, change) -> None:
    events = run_dir / "events.jsonl"
    lines = events.read_text().splitlines()
    if kind is None:
        lines.insert(1, "[1, 2, 3]")
    else:
        index = next(i for i, line in enumerate(lines) if json.loads(line)["type"] == kind)
        event = json.loads(lines[index])
        change(event)
        lines[index] = json.dumps(event)
    events.write_text("\n".join(lines) + "\n")
    (run_dir / "summary.json").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def trained_three(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three finished runs (with an overfitting alert), trained once for this module."""
    runs = tmp_path_factory.mktemp("three") / "runs"
    settings = ("alerts.overfit_patience=1", "data.train_subset=40", "model.hidden=[256]",
                "train.lr=0.01")
    return [run_to_end(*settings, epochs=9, runs_dir=runs)[0] for _ in range(3)]


@pytest.fixture
def three_runs(trained_three: list[Path], runs_dir: Path) -> list[Path]:
    """This test's copy of the three runs, in its runs dir; the middle one to be spoiled."""
    import shutil

    return [Path(shutil.copytree(run, runs_dir / run.name)) for run in trained_three]


@pytest.mark.parametrize("bad", list(BAD_LINES))
def test_wrong_field_types_are_skipped_and_counted_everywhere(bad: str, three_runs: list[Path],
                                                              runs_dir: Path,
                                                              tmp_path: Path) -> None:
    kind, change, skipped = BAD_LINES[bad]
    spoiled = three_runs[1]
    if kind == "alert" and not any(isinstance(e, Alert)
                                   for e in read_events(spoiled / "events.jsonl")):
        pytest.skip("this run fired no alert")
    _spoil(spoiled, kind, change)
    listing = invoke("runs")
    assert listing.exit_code == 0, listing.output
    for run_dir in three_runs:
        assert run_dir.name in listing.output
    record = next(r for r in list_runs(runs_dir) if r.path == spoiled)
    assert record.summary["unreadable_lines"] == int(skipped)
    shown = invoke("show", spoiled.name, "--plain")
    assert shown.exit_code == 0, shown.output
    compared = invoke("compare", three_runs[0].name, spoiled.name, "--plain")
    assert compared.exit_code == 0, compared.output
    for fmt in ("md", "json", "csv", "html"):
        exported = invoke("export", spoiled.name, "-f", fmt, "-o", tmp_path / f"x.{fmt}")
        assert exported.exit_code == 0, exported.output


@pytest.mark.parametrize("bad", ["val_acc as words", "params as words", "layer norms as words",
                                 "pixels not base64", "precision a number"])
async def test_the_monitor_replays_a_spoiled_run(bad: str, three_runs: list[Path]) -> None:
    from regtui.sources import source_for
    from regtui.tui.app import RegtuiApp

    kind, change, _ = BAD_LINES[bad]
    _spoil(three_runs[1], kind, change)
    app = RegtuiApp(three_runs[1].parent, source=source_for(three_runs[1]))
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 30
        while not (app.monitor.state.finished and app.monitor.query_one("#results").display):
            assert time.monotonic() < deadline, "the replay did not finish"
            await pilot.pause(0.1)
        await pilot.pause(0.2)
        assert app.return_value is None  # still running: nothing crashed it


def test_a_run_that_cannot_be_read_is_listed_as_unreadable(three_runs: list[Path],
                                                           runs_dir: Path) -> None:
    broken = three_runs[1]
    (broken / "events.jsonl").write_bytes(b'{"type": "epoch", "epoch": "x"}\n\x00\xff\n')
    (broken / "summary.json").unlink()
    listing = invoke("runs")
    assert listing.exit_code == 0, listing.output
    row = next(line for line in listing.output.splitlines() if broken.name in line)
    assert "unreadable" in row and "none of the 2 lines" in row
    others = [line for line in listing.output.splitlines()
              if three_runs[0].name in line or three_runs[2].name in line]
    assert len(others) == 2 and all("completed" in line for line in others)
    shown = one_line_error(invoke("show", broken.name, "--plain"))
    assert broken.name in shown and "readable event" in shown
    one_line_error(invoke("compare", three_runs[0].name, broken.name))
    one_line_error(invoke("export", broken.name, "-f", "md"))
    exported = invoke("export", "--all", "-f", "csv")  # the others are exported all the same
    assert exported.exit_code == 0 and exported.output.count("csv: ") == 2, exported.output


@pytest.mark.parametrize("change", [
    {"status": 3}, {"presets": "x"}, {"epochs_completed": "two"}, {"alerts": [{"kind": 1}]},
    {"diagnosis": {"verdict": 5}}, {"best_val_acc": "high"}, {"started": "today"},
])
def test_a_summary_json_of_wrong_types_is_ignored(change: dict, three_runs: list[Path],
                                                  runs_dir: Path) -> None:
    target = three_runs[0] / "summary.json"
    target.write_text(json.dumps({**json.loads(target.read_text()), **change}))
    listing = invoke("runs")
    assert listing.exit_code == 0, listing.output
    record = next(r for r in list_runs(runs_dir) if r.path == three_runs[0])
    folded = fold_summary(three_runs[0])  # what events.jsonl says, field by field
    for key in ("status", "presets", "epochs_completed", "alerts", "best_val_acc", "started"):
        assert record.summary[key] == folded[key], key
    assert record.status == "completed" and record.summary["epochs_completed"] == 9


async def test_the_runs_screen_lists_bad_runs_beside_good_ones(three_runs: list[Path],
                                                               runs_dir: Path) -> None:
    from textual.widgets import DataTable

    from regtui.tui.app import RegtuiApp

    _spoil(three_runs[1], "epoch", lambda o: o.update(epoch="two"))
    (three_runs[2] / "events.jsonl").write_text("nonsense\n")
    (three_runs[2] / "summary.json").unlink()
    app = RegtuiApp(runs_dir, browse=True)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        deadline = time.monotonic() + 30
        while table.row_count < 3:
            assert time.monotonic() < deadline
            await pilot.pause(0.1)
        statuses = {str(table.get_row_at(row)[4]) for row in range(3)}  # the status column
        assert statuses == {"completed", "unreadable"}
        await pilot.press("enter")  # the newest (unreadable) run: a notice, no crash
        await pilot.pause(0.2)


@contextmanager
def read_only(folder: Path):
    """`folder` remounted read-only (a tmpfs holding a copy of it), as an archive mount."""
    import shutil

    with tmpfs(folder.parent / "ro-mount", size="20m") as mount:
        shutil.copytree(folder, mount / folder.name)
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(mount)],
                                   capture_output=True, text=True)
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remounted.stderr.strip()}")
        yield mount / folder.name


def test_a_read_only_runs_dir_is_listed_and_exported_elsewhere(runs_dir: Path,
                                                               tmp_path: Path) -> None:
    finished_dir, _, _ = run_to_end(epochs=2, runs_dir=runs_dir)
    killed_dir, _, _ = run_to_end(epochs=2, runs_dir=runs_dir)
    forget_the_end(killed_dir)  # an interrupted run: its liveness must be checked read-only
    with read_only(runs_dir) as archive:
        listing = invoke("runs", "--runs-dir", archive)
        assert listing.exit_code == 0, listing.output
        assert "completed" in listing.output and "interrupted" in listing.output
        line = one_line_error(invoke("export", killed_dir.name, "-f", "md", "--runs-dir",
                                     archive))
        assert "Read-only file system" in line and "-o" in line
        for name in (finished_dir.name, killed_dir.name):
            exported = invoke("export", name, "-f", "json", "--runs-dir", archive,
                              "-o", tmp_path / f"{name}.json")
            assert exported.exit_code == 0, exported.output
            assert json.loads((tmp_path / f"{name}.json").read_text())["summary"]
        one_line_error(invoke("run", "--resume", killed_dir.name, "--runs-dir", archive))


# ====================================================================== 6. security

def test_a_planted_file_in_the_torch_cache_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = pickle.dumps(_RunsCode(str(marker)))
    plant_pretrained_weights(monkeypatch, code, matching_hash=False)  # under the real name
    line = one_line_error(invoke("run", "--preset", "transfer", *SMALL, "--epochs", "1"))
    assert "SHA-256" in line and "published" in line
    assert not marker.exists()


def test_a_code_pickle_with_the_published_hash_is_not_run(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    plant_pretrained_weights(monkeypatch, pickle.dumps(_RunsCode(str(marker))))
    line = one_line_error(invoke("run", "--preset", "transfer", *SMALL, "--epochs", "1"))
    assert "weights_only" in line
    assert not marker.exists()


@pytest.mark.parametrize("args, shown", [
    (["--preset", "[/]"], "unknown preset '[/]'"),
    (["--set", "train.optimizer=[/x]"], '"[/x]" is unknown'),
    (["--set", "foo.x=1"], "unknown section [foo]"),
    (["--set", "model.name=[bold]x"], '"[bold]x" is unknown'),
])
def test_user_text_is_printed_literally(args: list[str], shown: str) -> None:
    assert shown in one_line_error(invoke("run", *args))


ESC_NAME = "\x1b]0;retitled\x07ev\x1b[2Jil[red]"


def test_control_characters_from_files_never_reach_the_terminal(tmp_path: Path,
                                                                runs_dir: Path) -> None:
    preset = tmp_path / f"{ESC_NAME}.toml"
    preset.write_text('[preset]\ndescription = "clears \\u001b[2J the \\u009b31m screen"\n'
                      "[model]\ndropout = 0.1\n")
    images = tmp_path / "images"
    for index, name in enumerate(["\x1b[2Jcat[red]", "dog\x07"]):
        (images / name).mkdir(parents=True)
        for sample in range(12):
            from PIL import Image

            Image.new("RGB", (8, 8), (40 * index + sample, 90, 200 - 60 * index)).save(
                images / name / f"{sample}.png")
    outputs = []
    shown = invoke("presets", str(preset))
    assert shown.exit_code == 0, shown.output
    outputs.append(shown.output)
    ran = invoke("run", "--preset", str(preset), "--dataset", "imagefolder", "--data-dir",
                 images, "--epochs", "1", "--device", "cpu", "--set", "model.hidden=[8]")
    assert ran.exit_code == 0, ran.output
    outputs.append(ran.output)
    (record,) = list_runs(runs_dir)
    for args in (["runs"], ["show", record.run_id, "--plain"],
                 ["compare", record.run_id, record.run_id]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    every = "".join(outputs)
    assert "\x1b" not in every and "\x07" not in every and "\x9b" not in every
    assert "evil[red]" in outputs[1] and "cat[red]" in outputs[3]  # markup shown literally


async def test_the_tui_shows_names_from_files_as_plain_text(three_runs: list[Path],
                                                            runs_dir: Path) -> None:
    from textual.widgets import DataTable

    from regtui.sources import source_for
    from regtui.tui.app import RegtuiApp
    from regtui.tui.screens.runs import RunsScreen
    from test_tui import text_of

    def rename(event: dict) -> None:
        event["presets"] = [ESC_NAME]

    spoiled = three_runs[1]
    _spoil(spoiled, "run_started", rename)
    _spoil(spoiled, "run_finished", lambda o: o["classes"].__setitem__(0, "\x1b[2Jzero[/]"))
    app = RegtuiApp(runs_dir, source=source_for(spoiled))
    async with app.run_test(size=(160, 50)) as pilot:
        deadline = time.monotonic() + 30
        while not (app.monitor.state.finished and app.monitor.query_one("#results").display
                   and app.monitor.query_one("#results-detail").display):
            assert time.monotonic() < deadline, "the replay did not finish"
            await pilot.pause(0.1)
        status = text_of(app.monitor.query_one("#status"))
        results = text_of(app.monitor.query_one("#results")) + \
            text_of(app.monitor.query_one("#results-detail"))
        assert "evil[red]" in status and "zero[/" in results
        assert "\x1b" not in status + results and "\x07" not in status
        await pilot.press("r")
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one(DataTable)
        while table.row_count < 3:
            assert time.monotonic() < deadline
            await pilot.pause(0.1)
        cells = [str(cell) for row in range(3) for cell in table.get_row_at(row)]
        assert "evil[red]" in cells and not any("\x1b" in cell for cell in cells)


@pytest.mark.parametrize("target", [
    "R/summary.json", "R/events.jsonl", "R/config.toml", "R/last.pt", "R/best.pt",
    "R/./events.jsonl", "R/sub/../summary.json", "LINK/summary.json", "OTHER/events.jsonl",
    "relative",
])
def test_export_never_replaces_a_runs_own_files(target: str, runs_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _, _ = run_to_end(epochs=1, runs_dir=runs_dir)
    other, _, _ = run_to_end(epochs=1, runs_dir=runs_dir)
    (run_dir / "sub").mkdir()
    (tmp_path / "link").symlink_to(run_dir)
    before = {d: snapshot(d) for d in (run_dir, other)}
    if target == "relative":
        monkeypatch.chdir(run_dir)
        path = "config.toml"
    else:
        head, name = target.split("/", 1)
        path = f"{ {'R': run_dir, 'LINK': tmp_path / 'link', 'OTHER': other}[head]}/{name}"
    line = one_line_error(invoke("export", run_dir.name, "-f", "md", "-o", path))
    assert "exports never replace a run's files" in line
    assert {d: snapshot(d) for d in (run_dir, other)} == before


def test_a_link_planted_at_the_export_path_is_replaced_not_followed(runs_dir: Path,
                                                                    tmp_path: Path) -> None:
    run_dir, _, _ = run_to_end(epochs=1, runs_dir=runs_dir)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (run_dir / "export.md").symlink_to(victim)
    (run_dir / "tensorboard").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "events.out.tfevents.keep").write_text("keep me too")
    for fmt in ("md", "tensorboard"):
        result = invoke("export", run_dir.name, "-f", fmt)
        assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me"
    assert (tmp_path / "events.out.tfevents.keep").read_text() == "keep me too"
    assert not (run_dir / "export.md").is_symlink() and "# regtui run" in \
        (run_dir / "export.md").read_text()
    assert not (run_dir / "tensorboard").is_symlink()


def test_events_are_never_appended_through_a_link(runs_dir: Path, tmp_path: Path) -> None:
    run_dir, _, _ = run_to_end(epochs=3, runs_dir=runs_dir, stop_after=1)
    victim = tmp_path / "victim.jsonl"
    victim.write_bytes((run_dir / "events.jsonl").read_bytes())
    (run_dir / "events.jsonl").unlink()
    (run_dir / "events.jsonl").symlink_to(victim)
    before = victim.read_bytes()
    line = one_line_error(invoke("run", "--resume", run_dir.name))
    assert "events.jsonl" in line
    assert victim.read_bytes() == before


@pytest.mark.parametrize("output", ["DIR", "", "FILE/x.md", "RO"])
def test_an_unusable_export_target_is_one_line(output: str, runs_dir: Path,
                                               tmp_path: Path) -> None:
    run_dir, _, _ = run_to_end(epochs=1, runs_dir=runs_dir)
    (tmp_path / "a-file").write_text("x")
    if output == "RO":
        with tmpfs(tmp_path / "ro", size="1m") as mount:
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
            one_line_error(invoke("export", run_dir.name, "-f", "md", "-o", mount / "x.md"))
        return
    path = {"DIR": str(tmp_path), "": "", "FILE/x.md": f"{tmp_path}/a-file/x.md"}[output]
    one_line_error(invoke("export", run_dir.name, "-f", "md", "-o", path))


# ====================================================================== 7. smaller kinds

@pytest.mark.parametrize("args", [
    ["run", "--lr", "abc"], ["run", "--epochs", "1.5"], ["run", "--epoch", "3"],
    ["runs", "stray"], ["show"], ["compare"], ["run", "--set"], ["nonsense"],
    ["export", "x", "--format"],
])
def test_usage_errors_are_one_line_with_exit_2(args: list[str]) -> None:
    result = cli(*args, runs_dir=Path("/nonexistent"))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regtui: "), result.stderr
    assert "--help" in lines[0]


def test_help_still_works() -> None:
    result = cli("run", "--help", runs_dir=Path("/nonexistent"))
    assert result.returncode == 0 and "--resume" in result.stdout


def test_a_tensorboard_re_export_replaces_the_earlier_one(runs_dir: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _, _ = run_to_end(epochs=2, runs_dir=runs_dir)
    for _ in range(2):
        result = invoke("export", run_dir.name, "-f", "tensorboard")
        assert result.exit_code == 0, result.output
    folder = run_dir / "tensorboard"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tensorboard")]
    values = EventAccumulator(str(folder)).Reload().Scalars("loss/train")
    assert [v.step for v in values] == [1, 2]


def test_y_tick_labels_stay_compact_for_huge_losses() -> None:
    from regtui.views.format import tick_labels
    from regtui.views.scales import y_ticks

    assert tick_labels([1e31, 2.5e30, 0.25, -3e-7], each=True) == ["1e31", "2.5e30", "0.25",
                                                                  "-3e-7"]
    ticks, labels = y_ticks([2.3, 2e11, 1e31, float("nan")])
    assert len(ticks) >= 3 and max(map(len, labels)) <= 6, labels


def y_labels(plot: str) -> list[str]:
    """The labels left of the first panel's y axis."""
    import re

    return [match.group(1) for line in plot.splitlines()
            if (match := re.match(r"^\s*(\S+)┤", line))]


def test_the_markdown_plot_keeps_its_width_when_the_loss_explodes(runs_dir: Path) -> None:
    run_dir, finished, _ = run_to_end("train.optimizer=sgd", "train.lr=100", epochs=1,
                                      runs_dir=runs_dir)
    events = run_dir / "events.jsonl"
    lines = events.read_text().splitlines()
    for index, line in enumerate(lines):  # the loss of the diverged run
        event = json.loads(line)
        if event["type"] == "epoch":
            event["train_loss"], event["val_loss"] = 1e31, 2.5e30
            lines[index] = json.dumps(event)
    events.write_text("\n".join(lines) + "\n")
    shown = invoke("show", run_dir.name, "--plain")
    plot = shown.output.split("## Curves")[1].split("```")[1]
    assert "1e31" in plot
    assert max(map(len, y_labels(plot))) <= 6, plot


async def test_the_monitor_plot_keeps_its_width_when_the_loss_explodes() -> None:
    from textual.app import App

    from regtui.tui.widgets.metric_plot import MetricPlot

    class OnePlot(App):
        def compose(self):
            yield MetricPlot("loss", id="plot")

    app = OnePlot()
    async with app.run_test(size=(40, 12)) as pilot:
        plot = app.query_one(MetricPlot)
        plot.show({"train": ([1, 2, 3], [2.3, 2e11, 1e31])})
        await pilot.pause(0.1)
        text = plot.render().plain
        assert "1e31" in text
        assert max(map(len, y_labels(text))) <= 6, text
