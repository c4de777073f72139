"""The system sampler: CPU, RAM, this process's RSS, NVIDIA GPUs and torch's peak CUDA
memory, read on a daemon thread every few seconds and handed on as `System` events.

It never touches the training stream: NVML (nvidia-ml-py, NVIDIA's own bindings) reads
the driver's counters, psutil the kernel's, and torch's peak allocation is a counter of
its caching allocator, read only where torch is already imported and CUDA initialised
(no import, no context, no synchronize). One reading costs about a millisecond of CPU
on the sampler's own thread (`docs/monitor.md#system-panel` has the figures).

Torch-optional and textual-free, for the trainer and for runs written through the API:

    sampler = SystemSampler(interval=5.0)
    sampler.start(emit)          # after run_started: a reading every `interval` seconds
    ...
    sampler.stop(final=True)     # before run_finished: one last reading, on this thread
"""

from __future__ import annotations

import math
import sys
import threading
from typing import Any, Callable

import psutil

from regtui.events import System
from regtui.system.nvml import Nvml

# The first reading comes this long after start (or `interval`, when shorter): a CPU
# figure needs a span of time to be a figure.
FIRST_AFTER = 1.0
# The sampler never reads more often than this, whatever `interval` says.
MIN_INTERVAL = 0.05


class SystemSampler:
    """Reads the machine on demand (sample()) or every `interval` seconds (start())."""

    def __init__(self, interval: float, nvml: Nvml | None = None) -> None:
        """interval: seconds between readings (at least MIN_INTERVAL). nvml: the GPU
        reader (a default one is opened at the first reading: NVML's init may take a while,
        on the sampler's thread rather than the caller's)."""
        self.interval = max(float(interval), MIN_INTERVAL)
        self._nvml = nvml
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # primes the process's CPU counter
        self._cpu_times = psutil.cpu_times()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._emit: Callable[[System], None] | None = None

    # ------------------------------------------------------------ one reading

    def sample(self) -> System:
        """One reading now (a millisecond or so); never raises for a missing GPU."""
        memory = psutil.virtual_memory()
        if self._nvml is None:
            self._nvml = Nvml()
        gpus, note = self._nvml.read()
        return System(cpu_percent=self._cpu_percent(),
                      process_cpu_percent=_or_nan(self._process.cpu_percent, None),
                      ram_used=memory.total - memory.available, ram_total=memory.total,
                      rss=_or_zero(lambda: self._process.memory_info().rss),
                      gpus=gpus, gpu_note=note, torch_peak_allocated=torch_peak_allocated())

    def _cpu_percent(self) -> float:
        """All CPUs' busy share since the last reading, kept per sampler (psutil's own
        cpu_percent(None) shares one "last" with every other caller in the process)."""
        now, before = psutil.cpu_times(), self._cpu_times
        self._cpu_times = now
        total = sum(now) - sum(before)
        idle = _idle(now) - _idle(before)
        if total <= 0:
            return math.nan
        return round(min(max(100.0 * (1.0 - idle / total), 0.0), 100.0), 1)

    # ------------------------------------------------------------ the thread

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, emit: Callable[[System], None]) -> None:
        """Read every `interval` seconds on a daemon thread and call emit(event) there.

        emit must be safe to call from that thread (the trainer's is: it takes a lock).
        An emit that raises (the run store could not write) ends the sampling quietly:
        the run's own next write reports the problem. Starting twice does nothing."""
        if self.running:
            return
        self._emit = emit
        self._stopped.clear()
        self._thread = threading.Thread(target=self._loop, name="regtui-system", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        wait = min(FIRST_AFTER, self.interval)
        while not self._stopped.wait(wait):
            wait = self.interval
            try:
                event = self.sample()
                if self._stopped.is_set():  # stop() came while reading: its reading is last
                    break
                self._emit(event)
            except Exception:  # noqa: BLE001 - a sampler must never take the run with it
                break

    def stop(self, final: bool = False) -> None:
        """Stop the thread (waits for a reading in progress); with `final`, and only when
        it was started, emit one last reading on the calling thread (so that a run always
        ends with the machine's figures, its peak memory included). Closes NVML."""
        was_started = self._thread is not None
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None
        if final and was_started and self._emit is not None:
            try:
                self._emit(self.sample())
            except Exception:  # noqa: BLE001 - the end of the run goes on without it
                pass
        if self._nvml is not None:
            self._nvml.close()
            self._nvml = None


def torch_peak_allocated() -> int | None:
    """Bytes: torch's peak CUDA allocation in this process, summed over its devices; None
    unless torch is already imported and CUDA initialised. Reads the caching allocator's
    counters only: it neither imports torch nor synchronizes a device."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    try:
        if cuda is None or not cuda.is_initialized():
            return None
        return int(sum(cuda.max_memory_allocated(index)
                       for index in range(cuda.device_count())))
    except Exception:  # noqa: BLE001 - a half-initialised torch: no figure
        return None


def _idle(times: Any) -> float:
    return times.idle + getattr(times, "iowait", 0.0)


def _or_nan(read: Callable[..., float], *args: Any) -> float:
    try:
        return float(read(*args))
    except (psutil.Error, OSError):
        return math.nan


def _or_zero(read: Callable[[], int]) -> int:
    try:
        return int(read())
    except (psutil.Error, OSError):
        return 0

