"""System stats beside a run: the sampler (psutil and NVML readings as `System` events).

Torch-optional and textual-free: regtui.train starts it for every run, and a run written
through the API can start the same one (see SystemSampler)."""

from __future__ import annotations

from regtui.system.nvml import Nvml
from regtui.system.sampler import SystemSampler, torch_peak_allocated

__all__ = ["Nvml", "SystemSampler", "torch_peak_allocated"]
