"""How the machine's figures read (a `system` event): one line for the monitor's panel,
and the rows of the system exports (csv, json, TensorBoard)."""

from __future__ import annotations

import math
from typing import Any, Sequence

from rich.text import Text

from regtui.events import Notification, System
from regtui.views.format import fmt_bytes

GIB = 1024 ** 3


def _percent(value: Any) -> str:
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f"{value:.0f}%"
    return "-"


def gpu_text(gpu: dict[str, Any]) -> str:
    """"gpu0 97% 10.2G/80.0G 64°C 310W": utilisation, memory, temperature, power."""
    parts = [f"gpu{gpu.get('index', '?')}", _percent(gpu.get("util")),
             f"{fmt_bytes(gpu.get('mem_used'))}/{fmt_bytes(gpu.get('mem_total'))}"]
    if gpu.get("temp") is not None:
        parts.append(f"{gpu['temp']}°C")
    if gpu.get("power") is not None:
        parts.append(f"{gpu['power']:.0f}W")
    return " ".join(parts)


def system_line(sample: System | None, notification: Notification | None = None) -> Text:
    """CPU, RAM, RSS and every GPU (or why there is none) on one line; a failed last
    notification first, in red."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if notification is not None and not notification.ok:
        text.append("notify ✗", "bold red")
        text.append(" │ ", "dim")
    if sample is None:
        text.append("waiting for the first reading of the machine…", "dim")
        return text
    text.append("cpu ", "dim")
    text.append(_percent(sample.cpu_percent))
    text.append("  ram ", "dim")
    text.append(f"{fmt_bytes(sample.ram_used)}/{fmt_bytes(sample.ram_total)}")
    text.append("  rss ", "dim")
    text.append(fmt_bytes(sample.rss))
    text.append(" │ ", "dim")
    if sample.gpus:
        for index, gpu in enumerate(sample.gpus):
            if index:
                text.append(" │ ", "dim")
            full = (gpu.get("mem_used") or 0) >= 0.9 * (gpu.get("mem_total") or math.inf)
            text.append(gpu_text(gpu), "bold red" if full else "")
    else:
        text.append(f"no GPU ({sample.gpu_note or 'NVML: none found'})", "dim")
    if sample.torch_peak_allocated is not None:
        text.append("  torch peak ", "dim")
        text.append(fmt_bytes(sample.torch_peak_allocated))
    return text


def notification_text(notification: Notification) -> str:
    """"notified https://hooks.slack.com/… (run_finished)" or why it failed."""
    if notification.ok:
        return f"notified {notification.target} ({notification.event})"
    tries = f" after {notification.attempts} attempts" if notification.attempts > 1 else ""
    return (f"notification to {notification.target or '?'} failed{tries}: "
            f"{notification.error}")


# ---------------------------------------------------------------- exports

def gpu_indices(samples: Sequence[System]) -> list[int]:
    """Every GPU index that appears in the samples, in order."""
    return sorted({gpu.get("index") for sample in samples for gpu in sample.gpus
                   if isinstance(gpu.get("index"), int)})


def system_columns(samples: Sequence[System]) -> list[str]:
    columns = ["t", "seconds", "cpu_percent", "process_cpu_percent", "ram_used", "ram_total",
               "rss", "torch_peak_allocated"]
    for index in gpu_indices(samples):
        columns += [f"gpu{index}_{key}" for key in
                    ("util", "mem_used", "mem_total", "temp", "power")]
    return columns


def system_row(sample: System, start: float) -> dict[str, Any]:
    """One sample as export columns: times in s, memory in bytes, util in %, temp in °C,
    power in W; "" where a figure is missing."""
    row: dict[str, Any] = {
        "t": round(sample.t, 3), "seconds": round(sample.t - start, 3),
        "cpu_percent": sample.cpu_percent, "process_cpu_percent": sample.process_cpu_percent,
        "ram_used": sample.ram_used, "ram_total": sample.ram_total, "rss": sample.rss,
        "torch_peak_allocated": sample.torch_peak_allocated}
    for gpu in sample.gpus:
        for key in ("util", "mem_used", "mem_total", "temp", "power"):
            row[f"gpu{gpu.get('index')}_{key}"] = gpu.get(key)
    return {key: ("" if value is None or (isinstance(value, float) and math.isnan(value))
                  else value) for key, value in row.items()}


def tensorboard_scalars(sample: System) -> dict[str, float]:
    """The `system/*` scalars of one sample: memory in GiB, the rest in their units."""
    values: dict[str, Any] = {
        "system/cpu_percent": sample.cpu_percent,
        "system/process_cpu_percent": sample.process_cpu_percent,
        "system/ram_used_gib": sample.ram_used / GIB,
        "system/rss_gib": sample.rss / GIB,
        "system/torch_peak_allocated_gib": (sample.torch_peak_allocated / GIB
                                            if sample.torch_peak_allocated is not None
                                            else None)}
    for gpu in sample.gpus:
        prefix = f"system/gpu{gpu.get('index')}"
        values[f"{prefix}/util_percent"] = gpu.get("util")
        values[f"{prefix}/mem_used_gib"] = (gpu["mem_used"] / GIB
                                            if gpu.get("mem_used") is not None else None)
        values[f"{prefix}/temp_c"] = gpu.get("temp")
        values[f"{prefix}/power_w"] = gpu.get("power")
    return {tag: float(value) for tag, value in values.items()
            if isinstance(value, (int, float)) and math.isfinite(value)}
