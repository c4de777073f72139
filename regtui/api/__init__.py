"""regtui's Python API: a script's own training loop writes a regtui run.

    import regtui
    with regtui.init(name="resnet-cifar", config={"lr": 3e-4}, num_classes=10) as run:
        ...
        run.log({"train/loss": loss}, step=step)
        run.log({"train/loss": tl, "val/loss": vl, "val/acc": va}, epoch=epoch)

Modules: start (init, DisabledRun), run (Run), metrics (names and values), epochs
(gathering an epoch's metrics), endings (atexit, excepthook), ranks (distributed rank),
userconfig (the script's config), cost (what a log call costs). docs/api.md is the
reference. Torch-free: torch is neither imported nor needed.
"""

from __future__ import annotations

from regtui.api.run import Run
from regtui.api.start import DisabledRun, init

__all__ = ["DisabledRun", "Run", "init"]
