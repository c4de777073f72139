"""regtui.init: check the arguments, then create the run directory (or a no-op run).

init fails fast, with one clear message, on what it is given (a bad argument, a runs dir
that cannot hold a run); after it returns, nothing regtui does raises into the script.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

from regtui import config as config_module
from regtui.api import ranks, userconfig
from regtui.api.metrics import MetricNames, printable
from regtui.api.run import Run, environment
from regtui.diagnose import Diagnoser
from regtui.events import RunStarted
from regtui.rundir import RunStore, default_runs_dir

MODES = ("online", "disabled")


class DisabledRun:
    """The run of a process that does not write one (a rank other than 0, or
    REGTUI_MODE=disabled): every call does nothing, at once."""

    disabled = True
    path = None
    run_id = None
    finished = False
    stop_requested = False

    def __init__(self, user_config: dict[str, Any], why: str) -> None:
        self.config = user_config
        self.alerts: list[Any] = []
        self.why = why  # "rank 1 of 4", "REGTUI_MODE=disabled"

    def log(self, metrics: Mapping[str, Any], step: int | None = None,
            epoch: int | None = None) -> None:
        pass

    def log_checkpoint(self, path: Any, epoch: int | None = None, best: bool = False) -> None:
        pass

    def finish(self, status: str | None = None, error: str | None = None,
               reason: str = "") -> None:
        self.finished = True

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: object) -> bool:
        self.finished = True
        return False


def _whole(name: str, value: Any, low: int, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r}: expected a whole number >= {low}"
                         + (" or None" if allow_none else ""))
    return value


def _model_info(model: Any) -> dict[str, Any]:
    """run_started's model: a name, and for a torch module its parameter counts and device."""
    if model is None:
        return {}
    if isinstance(model, str):
        return {"name": printable(model)}
    info: dict[str, Any] = {"name": type(model).__name__}
    parameters = getattr(model, "parameters", None)
    if callable(parameters):
        params = list(parameters())
        info["params"] = int(sum(p.numel() for p in params))
        info["trainable"] = int(sum(p.numel() for p in params if p.requires_grad))
        if params:
            info["device"] = str(params[0].device)
    return info


def _label(name: str | None) -> str:
    if name:
        return name
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] not in ("", "-c") else ""
    return script or "api"


def init(name: str | None = None, config: Any = None, *,
         runs_dir: str | os.PathLike[str] | None = None, num_classes: int | None = None,
         epochs: int | None = None, metrics: Mapping[str, str | None] | None = None,
         log_every: int = 50, print_alerts: bool = True,
         alerts: Mapping[str, Any] | None = None, model: Any = None,
         dataset: str | None = None, mode: str | None = None) -> Run | DisabledRun:
    """Start a run that this script writes; returns it (use it as a context manager, or
    call finish()). docs/api.md describes every argument.

    Raises ValueError / TypeError for a bad argument, regtui.config.ConfigError for a bad
    alerts threshold, and rundir.RunWriteError when runs_dir cannot hold a run."""
    mode = mode if mode is not None else os.environ.get("REGTUI_MODE", "online")
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} (REGTUI_MODE): unknown; accepted: {', '.join(MODES)}")
    user = userconfig.user_config(config)
    num_classes = _whole("num_classes", num_classes, 1)
    _whole("log_every", log_every, 1, allow_none=False)
    names = MetricNames(metrics)
    layer: config_module.Layer = {"alerts": dict(alerts or {})}
    if epochs is not None:
        layer["train"] = {"epochs": epochs}
    checked = config_module.check_layer(layer, "regtui.init")
    settings = config_module.build(checked, "regtui.init")
    if dataset is not None and not isinstance(dataset, str):
        raise TypeError(f"dataset must be a name (str), not {type(dataset).__name__}")

    where = ranks.detect()
    if mode == "disabled":
        return DisabledRun(user, "REGTUI_MODE=disabled")
    if not where.is_main:
        return DisabledRun(user, f"rank {where.rank} of {where.world_size}")

    model_info = _model_info(model)
    data: dict[str, Any] = {"name": printable(dataset)} if dataset else {}
    if num_classes:
        data["classes"] = num_classes
    recorded = {key: values for key, values in checked.items() if key == "train"}
    recorded["alerts"] = config_module.to_dict(settings)["alerts"]
    store = RunStore.create(Path(runs_dir) if runs_dir is not None else default_runs_dir(),
                            _label(name), config_toml(recorded, user))
    try:
        store.write(RunStarted(
            run_id=store.run_id, config=recorded, source="api", user_config=user,
            env=environment(where.world_size, model_info), model=model_info, data=data))
    except BaseException:
        store.close()
        raise
    diagnoser = Diagnoser(settings.alerts, num_classes) if settings.alerts.enabled else None
    return Run(store, user_config=user, names=names, diagnoser=diagnoser,
               log_every=log_every, print_alerts=print_alerts)


def config_toml(recorded: Mapping[str, Any], user: Mapping[str, Any]) -> str:
    """config.toml of an API run: the regtui settings that apply, then the script's own."""
    header = ("# A run written by a script through regtui's Python API (regtui.init), not by\n"
              "# `regtui run`: `regtui run --config` cannot repeat it. [alerts] holds the\n"
              "# detector thresholds applied to its epochs; [user] the config the script gave.\n")
    lines = []
    for section, values in recorded.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {config_module.toml_value(value)}" for key, value in values.items()
                  if value is not None]
    return header + "\n".join(lines).lstrip("\n") + "\n\n" + userconfig.to_toml(user)
