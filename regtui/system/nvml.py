"""NVIDIA GPUs through NVML (the `pynvml` module of nvidia-ml-py): utilisation, memory,
temperature and power per device, as the driver counts them (the figures nvidia-smi shows).

Without the library, a driver or a GPU, read() returns no GPUs and one line saying why;
nothing here raises. Every NVML call goes through the `pynvml` module's attributes, so a
test can stand in a fake driver by replacing them.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

GPU_FIELDS = ("index", "name", "util", "mem_used", "mem_total", "temp", "power")


class Nvml:
    """Opened at the first read() (nvmlInit), closed by close() (nvmlShutdown)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """environ: where CUDA_VISIBLE_DEVICES is read (default os.environ): with it set,
        only the GPUs this process can use are read, as CUDA lists them."""
        self._environ = os.environ if environ is None else environ
        self._pynvml: Any = None
        self._devices: list[tuple[int, str, Any]] = []  # (NVML index, name, handle)
        self._note: str | None = None  # why there are no GPUs; None until opened

    def read(self) -> tuple[list[dict[str, Any]], str]:
        """(gpus, note): a dict per GPU with GPU_FIELDS (None where the GPU does not
        report a figure), and why the list is empty ("" when it is not)."""
        if self._note is None:
            self._open()
        return [self._read_device(*device) for device in self._devices], self._note or ""

    def close(self) -> None:
        if self._pynvml is not None:
            try:
                self._pynvml.nvmlShutdown()
            except Exception:  # noqa: BLE001 - closing a driver that has gone
                pass
        self._pynvml, self._devices, self._note = None, [], None

    # ------------------------------------------------------------ opening

    def _open(self) -> None:
        try:
            import pynvml
        except ImportError:
            self._note = "NVML: nvidia-ml-py is not installed"
            return
        try:
            pynvml.nvmlInit()
        except Exception as error:  # noqa: BLE001 - NVMLError_LibraryNotFound, ...
            self._note = _nvml_note(error)
            return
        self._pynvml = pynvml
        try:
            self._devices = self._visible(pynvml)
        except Exception as error:  # noqa: BLE001
            self._note = _nvml_note(error)
            return
        self._note = "" if self._devices else "NVML: no GPU visible to this process"

    def _visible(self, pynvml: Any) -> list[tuple[int, str, Any]]:
        """The GPUs this process may use: every one, or those CUDA_VISIBLE_DEVICES names
        (by index or by a UUID or its prefix), in its order."""
        handles = [pynvml.nvmlDeviceGetHandleByIndex(index)
                   for index in range(pynvml.nvmlDeviceGetCount())]
        wanted = _visible_entries(self._environ.get("CUDA_VISIBLE_DEVICES"))
        if wanted is None:
            chosen = list(enumerate(handles))
        else:
            chosen = []
            for entry in wanted:
                index = _find(pynvml, handles, entry)
                if index is None:
                    break  # CUDA, too, ignores the entries after one it cannot use
                chosen.append((index, handles[index]))
        return [(index, _text(pynvml.nvmlDeviceGetName(handle)), handle)
                for index, handle in chosen]

    # ------------------------------------------------------------ reading

    def _read_device(self, index: int, name: str, handle: Any) -> dict[str, Any]:
        nv = self._pynvml
        memory = _query(nv.nvmlDeviceGetMemoryInfo, handle)
        utilization = _query(nv.nvmlDeviceGetUtilizationRates, handle)
        milliwatts = _query(nv.nvmlDeviceGetPowerUsage, handle)
        return {
            "index": index,
            "name": name,
            "util": int(utilization.gpu) if utilization is not None else None,  # %
            "mem_used": int(memory.used) if memory is not None else None,  # bytes
            "mem_total": int(memory.total) if memory is not None else None,  # bytes
            "temp": _query(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
            "power": round(milliwatts / 1000.0, 1) if milliwatts is not None else None,  # W
        }


def _query(function: Any, *args: Any) -> Any:
    """One NVML figure, or None where the GPU does not report it (NotSupported, ...)."""
    try:
        return function(*args)
    except Exception:  # noqa: BLE001 - NVMLError_NotSupported, GpuIsLost, ...
        return None


def _visible_entries(value: str | None) -> list[str] | None:
    """CUDA_VISIBLE_DEVICES as entries; None when unset. CUDA stops at the first
    negative entry ("-1" hides every GPU)."""
    if value is None:
        return None
    entries = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry or entry.startswith("-"):
            break
        entries.append(entry)
    return entries


def _find(pynvml: Any, handles: list[Any], entry: str) -> int | None:
    """The NVML index CUDA_VISIBLE_DEVICES's `entry` names (an index, a GPU UUID or a
    unique prefix of one); None when it names none."""
    if entry.isdigit():
        return int(entry) if int(entry) < len(handles) else None
    matches = [index for index, handle in enumerate(handles)
               if _text(_query(pynvml.nvmlDeviceGetUUID, handle) or "").startswith(entry)]
    return matches[0] if len(matches) == 1 else None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _nvml_note(error: BaseException) -> str:
    """"NVML: Shared Library Not Found" for NVMLError_LibraryNotFound, and the like."""
    message = str(error) or type(error).__name__
    if message.startswith("NVML "):
        message = message[len("NVML "):]
    return f"NVML: {message}"
