"""How a script's run ends when the script does not call finish().

- The interpreter exits normally: an atexit hook finishes every open run `completed`.
- An exception ends the script: a chained sys.excepthook (called before the atexit
  hooks) finishes them `failed` with the error, or `interrupted` for Ctrl-C.
- The process is killed (kill -9, OOM killer): nothing runs, but the run's flock goes
  with the process, so readers list the run `interrupted` and keep every epoch written.

A `with regtui.init(...)` block settles its own run on the way out. Torch-free.
"""

from __future__ import annotations

import atexit
import sys
import threading
from typing import Any, Protocol


class _Ending(Protocol):
    def finish(self, status: str | None = None, error: str | None = None) -> None: ...
    def _fail(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None: ...


_open: list[_Ending] = []
_guard = threading.Lock()
_installed = False
_previous_hook = sys.excepthook


def track(run: _Ending) -> None:
    """Settle `run` at interpreter exit unless it is finished first."""
    global _installed
    with _guard:
        _open.append(run)
        if not _installed:
            _install()
            _installed = True


def untrack(run: _Ending) -> None:
    with _guard:
        if run in _open:
            _open.remove(run)


def _install() -> None:
    global _previous_hook
    atexit.register(_at_exit)
    _previous_hook = sys.excepthook
    sys.excepthook = _excepthook


def _pending() -> list[_Ending]:
    with _guard:
        return list(_open)


def _at_exit() -> None:
    for run in _pending():
        try:
            run.finish()
        except Exception:
            pass


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    for run in _pending():
        try:
            run._fail(exc_type, exc, tb)
        except Exception:
            pass
    _previous_hook(exc_type, exc, tb)
