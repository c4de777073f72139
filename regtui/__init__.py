"""regtui: a terminal training monitor and regularization lab for PyTorch.

`regtui.init(...)` starts a run written by your own training loop (docs/api.md);
`regtui.lightning.RegtuiLogger` and `regtui.accelerate.RegtuiTracker` plug it into
Lightning and Accelerate. They load on first use: `import regtui` imports neither torch
nor textual nor typer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from regtui.api import DisabledRun, Run, init

_LAZY = {"init": ("regtui.api", "init"), "Run": ("regtui.api", "Run"),
         "DisabledRun": ("regtui.api", "DisabledRun"),
         "lightning": ("regtui.integrations.lightning", None),
         "accelerate": ("regtui.integrations.accelerate", None)}

__all__ = ["DisabledRun", "Run", "init", "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'regtui' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value
