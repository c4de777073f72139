"""System stats: psutil read for real, NVML through a fake driver (pynvml's functions
replaced), one real tiny run, the monitor's panel, the summary, the runs table, exports."""

from __future__ import annotations

import csv
import io
import math
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pynvml
import pytest
from rich.console import Console

from helpers import HANG_SECONDS, text_of, tiny, wait_for
from regtui import config as config_module
from regtui import train
from regtui.background import RunBackground
from regtui.events import (Epoch, Notification, RunFinished, RunStarted, System, from_json,
                           read_events, to_json)
from regtui.rundir import RunStore, SummaryBuilder, list_runs
from regtui.system import Nvml, SystemSampler
from regtui.system import sampler as sampler_module
from regtui.tui.app import RegtuiApp
from regtui.tui.state import SYSTEM_HISTORY, RunState
from regtui.tui.widgets.system_panel import SystemPanel
from regtui.views.export import export_files
from regtui.views.runs_table import GPU_COLUMN, runs_table
from regtui.views.system import system_line
from scripted import ScriptedSource, scripted_run

GIB = 1024 ** 3


# ---------------------------------------------------------------- a fake NVIDIA driver

class FakeDriver:
    """Two GPUs as NVML reports them; GPU 1 does not report its power."""

    def __init__(self) -> None:
        self.initialised = False
        self.shutdowns = 0
        self.uuids = ["GPU-aaaa1111-0000", "GPU-bbbb2222-0000"]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        not_supported = pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

        def power(handle: int) -> int:
            if handle == 1:
                raise not_supported
            return 310_500  # milliwatts

        def init() -> None:
            self.initialised = True

        def shutdown() -> None:
            self.shutdowns += 1

        for name, function in {
            "nvmlInit": init,
            "nvmlShutdown": shutdown,
            "nvmlDeviceGetCount": lambda: 2,
            "nvmlDeviceGetHandleByIndex": lambda index: index,
            "nvmlDeviceGetName": lambda handle: b"NVIDIA H200" if handle == 0 else "NVIDIA A100",
            "nvmlDeviceGetUUID": lambda handle: self.uuids[handle],
            "nvmlDeviceGetUtilizationRates": lambda handle: SimpleNamespace(
                gpu=97 if handle == 0 else 3, memory=40),
            "nvmlDeviceGetMemoryInfo": lambda handle: SimpleNamespace(
                used=(70 if handle == 0 else 1) * GIB, total=80 * GIB, free=0),
            "nvmlDeviceGetTemperature": lambda handle, sensor: 64 if handle == 0 else 31,
            "nvmlDeviceGetPowerUsage": power,
        }.items():
            monkeypatch.setattr(pynvml, name, function)


@pytest.fixture
def fake_driver(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    driver = FakeDriver()
    driver.install(monkeypatch)
    return driver


def _system(t: float, gpus: bool = True, peak: int | None = None, cpu: float = 20.0) -> System:
    return System(t=t, cpu_percent=cpu, process_cpu_percent=95.0, ram_used=5 * GIB,
                  ram_total=16 * GIB, rss=800 * 1024 ** 2, torch_peak_allocated=peak,
                  gpus=[{"index": 0, "name": "NVIDIA H200", "util": 97, "mem_used": 10 * GIB,
                         "mem_total": 80 * GIB, "temp": 64, "power": 310.5}] if gpus else [],
                  gpu_note="" if gpus else "NVML: Shared Library Not Found")


# ---------------------------------------------------------------- readings

def test_a_reading_of_this_machine_is_real_and_says_why_it_has_no_gpu() -> None:
    sampler = SystemSampler(5.0)
    time.sleep(0.05)
    sample = sampler.sample()
    sampler.stop()
    memory = psutil.virtual_memory()
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert sample.ram_total == memory.total and 0 < sample.ram_used <= memory.total
    rss = psutil.Process().memory_info().rss
    assert 0.5 * rss < sample.rss < 2 * rss
    assert sample.gpus or sample.gpu_note.startswith("NVML: ")  # here: no NVML library
    assert sample.torch_peak_allocated is None or sample.torch_peak_allocated >= 0
    assert from_json(to_json(sample)) == sample


def test_a_fake_driver_is_read_per_gpu_in_the_units_the_event_promises(
        fake_driver: FakeDriver) -> None:
    nvml = Nvml(environ={})
    gpus, note = nvml.read()
    assert note == "" and fake_driver.initialised
    assert gpus[0] == {"index": 0, "name": "NVIDIA H200", "util": 97, "mem_used": 70 * GIB,
                       "mem_total": 80 * GIB, "temp": 64, "power": 310.5}
    assert gpus[1]["name"] == "NVIDIA A100" and gpus[1]["power"] is None  # not supported
    nvml.close()
    assert fake_driver.shutdowns == 1
    line = system_line(System(gpus=gpus, ram_total=GIB)).plain
    assert "gpu0 97% 70.0G/80.0G 64°C 310W" in line and "gpu1 3% 1.0G/80.0G 31°C" in line


@pytest.mark.parametrize("visible, indices, note", [
    ("1", [1], ""),
    ("GPU-bbbb", [1], ""),  # a UUID prefix, as CUDA accepts it
    ("1,0", [1, 0], ""),
    ("0,7,1", [0], ""),  # CUDA ignores what follows an entry it cannot use
    ("-1", [], "NVML: no GPU visible to this process"),
])
def test_only_the_gpus_cuda_visible_devices_names_are_read(
        fake_driver: FakeDriver, visible: str, indices: list[int], note: str) -> None:
    gpus, got_note = Nvml(environ={"CUDA_VISIBLE_DEVICES": visible}).read()
    assert [gpu["index"] for gpu in gpus] == indices and got_note == note


def test_a_driver_that_fails_or_a_missing_binding_is_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise pynvml.NVMLError_DriverNotLoaded(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlInit", broken)
    gpus, note = Nvml(environ={}).read()
    assert gpus == [] and note.startswith("NVML: ") and "\n" not in note
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    assert Nvml(environ={}).read() == ([], "NVML: nvidia-ml-py is not installed")
    line = system_line(System(gpu_note="NVML: Shared Library Not Found")).plain
    assert "no GPU (NVML: Shared Library Not Found)" in line


def test_the_sampler_thread_reads_at_its_rate_and_stops_with_a_last_reading(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampler_module, "FIRST_AFTER", 0.01)
    seen: list[tuple[System, str]] = []
    sampler = SystemSampler(0.05)
    sampler.start(lambda event: seen.append((event, threading.current_thread().name)))
    deadline = time.monotonic() + HANG_SECONDS
    while len(seen) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sampler.stop(final=True)
    assert not sampler.running
    count = len(seen)
    assert seen[-1][1] == threading.current_thread().name  # the last one: on this thread
    assert {name for _, name in seen[:-1]} == {"regtui-system"}
    time.sleep(0.15)
    assert len(seen) == count  # nothing after stop()
    failing = SystemSampler(0.05)
    failing.start(lambda event: (_ for _ in ()).throw(OSError("disk full")))
    time.sleep(0.1)
    assert not failing.running  # an emit that raises ends the sampling, quietly


def test_torch_peak_is_read_only_where_torch_and_cuda_already_are(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert sampler_module.torch_peak_allocated() is None  # torch is not imported for it
    assert "torch" not in sys.modules
    cuda = SimpleNamespace(is_initialized=lambda: True, device_count=lambda: 2,
                           max_memory_allocated=lambda index: (index + 1) * GIB)
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda))
    assert sampler_module.torch_peak_allocated() == 3 * GIB
    cuda.is_initialized = lambda: False
    assert sampler_module.torch_peak_allocated() is None


# ---------------------------------------------------------------- a real run

def test_a_real_run_writes_system_events_between_its_start_and_its_end(
        runs_dir: Path) -> None:
    run_dir, finished = train.start(tiny("monitor.system_interval=0.05", epochs=2), runs_dir)
    assert finished.status == "completed"
    events = read_events(run_dir / "events.jsonl")
    kinds = [event.type for event in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds[-2] == "system"  # the last reading comes just before the end
    samples = [event for event in events if isinstance(event, System)]
    assert samples and all(sample.ram_total > 0 and sample.rss > 0 for sample in samples)
    assert "system_interval = 0.05" in (run_dir / "config.toml").read_text()
    summary = list_runs(runs_dir)[0].summary
    assert "peak_gpu_mem" in summary  # None on a CPU run
    off = config_module.build(config_module.check_layer(
        {"monitor": {"system_interval": 0}}, "test"))
    assert RunBackground(off, environ={}).sampler is None  # 0 = off


# ---------------------------------------------------------------- folds and views

def test_the_state_keeps_the_latest_reading_and_a_bounded_history() -> None:
    state = RunState()
    for n in range(SYSTEM_HISTORY + 30):
        state.add(_system(float(n)))
    assert state.system.t == SYSTEM_HISTORY + 29
    assert len(state.system_history) == SYSTEM_HISTORY
    assert state.curves_version == 0  # readings never rebuild the plots


def test_the_summary_and_the_runs_table_show_the_peak_gpu_memory(runs_dir: Path) -> None:
    builder = SummaryBuilder()
    for peak in (GIB, 5 * GIB, 3 * GIB, None):
        builder.add(_system(0.0, peak=peak))
    assert builder.to_dict()["peak_gpu_mem"] == 5 * GIB
    for peaks in ([], [int(10.2 * GIB)]):
        store = RunStore.create(runs_dir, "gpu" if peaks else "cpu", "")
        store.write(RunStarted(run_id=store.run_id))
        for peak in peaks:
            store.write(_system(1.0, peak=peak))
        store.write(RunFinished(status="completed"))
        store.close()
    console = Console(width=250, file=io.StringIO(), record=True)
    console.print(runs_table(list_runs(runs_dir)))
    table = console.export_text()
    assert GPU_COLUMN in table and "10.2G" in table
    console = Console(width=250, file=io.StringIO(), record=True)
    console.print(runs_table([r for r in list_runs(runs_dir) if "cpu" in r.run_id]))
    assert GPU_COLUMN not in console.export_text()  # CPU runs only: no empty column


def _write_run(runs_dir: Path) -> Path:
    store = RunStore.create(runs_dir, "sys", "")
    store.write(RunStarted(t=100.0, run_id=store.run_id))
    store.write(_system(102.0, peak=GIB))
    store.write(Epoch(t=103.0, epoch=1, train_loss=1.0, val_loss=1.1, train_acc=0.5,
                      val_acc=0.4, lr=1e-3, seconds=1.0))
    store.write(_system(107.0, peak=2 * GIB, cpu=math.nan))
    store.write(RunFinished(t=108.0, status="completed"))
    store.close()
    return store.path


def test_csv_gets_a_system_file_and_tensorboard_system_scalars(runs_dir: Path,
                                                               tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = _write_run(runs_dir)
    written = export_files(run_dir, "csv")
    assert [path.name for path in written] == ["export.csv", "export-system.csv"]
    rows = list(csv.DictReader(written[1].open()))
    assert [row["seconds"] for row in rows] == ["2.0", "7.0"]
    assert rows[0]["gpu0_util"] == "97" and rows[0]["gpu0_mem_used"] == str(10 * GIB)
    assert rows[1]["cpu_percent"] == "" and rows[1]["torch_peak_allocated"] == str(2 * GIB)
    assert "peak GPU memory (torch) | 2.0G" in export_files(run_dir, "md")[0].read_text()
    folder = export_files(run_dir, "tensorboard", tmp_path / "tb")[0]
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {"system/cpu_percent", "system/ram_used_gib", "system/gpu0/util_percent",
            "system/gpu0/power_w", "system/torch_peak_allocated_gib"} <= tags
    assert [s.step for s in accumulator.Scalars("system/gpu0/util_percent")] == [2, 7]
    assert [s.step for s in accumulator.Scalars("system/cpu_percent")] == [2]  # NaN left out


# ---------------------------------------------------------------- the monitor's panel

def _events(*extra) -> list:
    return [*scripted_run(epochs=3), *extra]


async def test_the_panel_is_one_line_at_80x24_and_says_there_is_no_gpu(runs_dir: Path) -> None:
    failed = Notification(target="https://hooks.slack.com/…", event="alert", ok=False,
                          error="HTTP 500 Internal Server Error", attempts=3)
    app = RegtuiApp(runs_dir, source=ScriptedSource(_events(_system(1.0, gpus=False), failed)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.monitor.drawn_system == 2)
        panel = app.monitor.query_one(SystemPanel)
        await wait_for(pilot, lambda: panel.region.height == 1)
        line = text_of(panel.query_one("SystemLine"))
        assert line.startswith("notify ✗ │ cpu 20%  ram 5.0G/16.0G  rss 800M")
        assert "no GPU (NVML: Shared Library Not Found)" in line
        assert not panel.query_one("#system-sparks").display  # narrow: the line only


async def test_the_panel_has_sparklines_when_wide_and_stays_hidden_without_readings(
        runs_dir: Path) -> None:
    readings = [_system(float(n), cpu=float(10 * n)) for n in range(1, 6)]
    source = ScriptedSource(_events(*readings))
    app = RegtuiApp(runs_dir, source=source)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.monitor.drawn_system == 5)
        panel = app.monitor.query_one(SystemPanel)
        await wait_for(pilot, lambda: len(panel.query("Sparkline")) == 4)
        sparks = {label.content: spark for label, spark in zip(
            panel.query(".spark-label"), panel.query("Sparkline"))}
        assert list(sparks) == ["cpu", "ram", "gpu0", "mem0"]
        assert sparks["cpu"].data == [10.0, 20.0, 30.0, 40.0, 50.0]
        assert panel.query_one("#system-sparks").display
        assert "gpu0 97% 10.0G/80.0G 64°C 310W" in text_of(panel.query_one("SystemLine"))
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(epochs=3)))
    async with app.run_test(size=(80, 24)) as pilot:  # an older run: no panel at all
        await wait_for(pilot, lambda: app.monitor.drawn_version == app.monitor.state.version)
        assert not app.monitor.query_one(SystemPanel).display
