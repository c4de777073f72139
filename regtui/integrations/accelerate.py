"""Hugging Face Accelerate: `Accelerator(log_with=RegtuiTracker())` writes a regtui run.

    from regtui.integrations.accelerate import RegtuiTracker   # or regtui.accelerate
    accelerator = Accelerator(log_with=RegtuiTracker(num_classes=10))
    accelerator.init_trackers("my-project", config={"lr": 3e-4})
    accelerator.log({"train_loss": loss}, step=step)                 # a step
    accelerator.log({"train_loss": tl, "eval_loss": vl, "epoch": epoch}, step=step)  # an epoch
    accelerator.end_training()

A log whose values hold `epoch` (as Accelerate's own examples write them) is an epoch's;
a run whose first epoch is 0 is shifted to regtui's 1-based count. `log_kwargs={"regtui":
{"epoch": n}}` names the epoch explicitly (used as given). Anything else is a step.
Accelerate calls a tracker on the main process only; regtui.init also checks the rank.
Needs `accelerate`: pip install 'regtui[accelerate]'.
"""

from __future__ import annotations

from typing import Any

try:
    from accelerate.tracking import GeneralTracker
except ImportError:
    raise ImportError("regtui's Accelerate tracker needs Accelerate: "
                      "pip install 'regtui[accelerate]' (or pip install accelerate)") from None

import regtui.api as api

__all__ = ["RegtuiTracker"]


class RegtuiTracker(GeneralTracker):
    """An Accelerate tracker writing a regtui run.

    run_name: the run's label (default: the script's name). Every other keyword goes to
    regtui.init (num_classes, runs_dir, epochs, metrics, log_every, print_alerts, ...)."""

    name = "regtui"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, run_name: str | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self.run_name = run_name
        self.init_kwargs = init_kwargs
        self._run: api.Run | api.DisabledRun | None = None
        self._epoch_offset: int | None = None

    @property
    def tracker(self) -> api.Run | api.DisabledRun:
        """The regtui run (created on first use)."""
        return self._ensure_run()

    def start(self) -> None:
        """Nothing yet: the run starts with the config (store_init_configuration) or the
        first log, so that it records the config."""

    def store_init_configuration(self, values: dict[str, Any]) -> None:
        if self._run is None:
            self._ensure_run(values)

    def log(self, values: dict[str, Any], step: int | None = None, epoch: int | None = None,
            **kwargs: Any) -> None:
        run = self._ensure_run()
        if epoch is not None:
            run.log(values, epoch=epoch)
        elif "epoch" in values:
            metrics = {key: value for key, value in values.items() if key != "epoch"}
            number = self._epoch_number(values["epoch"])
            if number is not None:
                run.log(metrics, epoch=number)
        else:
            run.log(values, step=step)

    def finish(self) -> None:
        if self._run is not None:
            self._run.finish()

    def _epoch_number(self, value: Any) -> int | None:
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        if self._epoch_offset is None:
            self._epoch_offset = 1 if number == 0 else 0
        return number + self._epoch_offset

    def _ensure_run(self, config: dict[str, Any] | None = None) -> api.Run | api.DisabledRun:
        if self._run is None:
            self._run = api.init(self.run_name, config, **self.init_kwargs)
        return self._run
