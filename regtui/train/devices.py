"""Devices: which one `train.device` means on this machine, its name, the environment a
run records. Errors are SetupError, raised before a run directory exists."""

from __future__ import annotations

import platform

import torch


class SetupError(RuntimeError):
    """A run cannot start as configured; the message says what is wrong and what to do."""


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SetupError(f"--device {spec}: CUDA is not available on this machine "
                             f"(torch {torch.__version__}); accepted here: auto, cpu")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise SetupError(f"--device {spec}: this machine has {torch.cuda.device_count()} "
                             f"CUDA device(s): cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    if spec == "mps" and not torch.backends.mps.is_available():
        raise SetupError("--device mps: MPS is not available on this machine; "
                         "accepted here: auto, cpu")
    return torch.device(spec)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return platform.processor() or platform.machine() or "cpu"


def environment(device: torch.device) -> dict:
    return {"torch": torch.__version__, "python": platform.python_version(),
            "device": str(device), "device_name": device_name(device),
            "threads": torch.get_num_threads()}
