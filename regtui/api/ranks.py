"""Which process of a distributed job this is: only global rank 0 writes a run.

Read from torch.distributed when the script has initialised it (torch is looked at only
if the script already imported it: regtui never imports torch for this), else from the
launcher's environment: torchrun / torch.distributed.launch (RANK, LOCAL_RANK,
WORLD_SIZE), MPI (PMI_*, OMPI_COMM_WORLD_*, MV2_COMM_WORLD_*) and Slurm (SLURM_PROCID,
SLURM_LOCALID, SLURM_NTASKS), in that order, the way timm's world_info_from_env does.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Mapping

RANK_VARS = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "SLURM_PROCID")
LOCAL_RANK_VARS = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                   "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")
WORLD_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
                   "SLURM_NTASKS")


@dataclass(frozen=True)
class Ranks:
    rank: int  # global rank: 0 writes the run
    local_rank: int
    world_size: int
    source: str  # "torch.distributed", the variable the rank came from, or "single process"

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _first_int(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[int, str] | None:
    for name in names:
        try:
            return int(environ[name]), name
        except (KeyError, ValueError):
            continue
    return None


def _from_torch(modules: Mapping[str, Any]) -> tuple[int, int] | None:
    dist = modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except Exception:  # a half-built process group: fall back on the environment
        return None
    return None


def detect(environ: Mapping[str, str] | None = None,
           modules: Mapping[str, Any] | None = None) -> Ranks:
    """This process's ranks (never raises; a garbled variable is skipped)."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    local = _first_int(environ, LOCAL_RANK_VARS)
    local_rank = local[0] if local else 0
    initialised = _from_torch(modules)
    if initialised is not None:
        return Ranks(initialised[0], local_rank, initialised[1], "torch.distributed")
    rank = _first_int(environ, RANK_VARS)
    size = _first_int(environ, WORLD_SIZE_VARS)
    world_size = size[0] if size else 1
    if rank is not None:
        return Ranks(rank[0], local_rank, world_size, rank[1])
    if local is not None:  # a one-node launcher that sets only the local rank
        return Ranks(local[0], local[0], world_size, local[1])
    return Ranks(0, 0, world_size, "single process")
