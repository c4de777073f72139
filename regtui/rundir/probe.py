"""Can runs be written under a runs dir? Asked before any data is loaded.

The answer comes from the operating system, not from permission bits: the runs dir (and
any missing parents) and a probe folder inside it are really created, then removed again
(root passes every mode check; a read-only mount, a full disk or a name too long fail
whatever the modes say). Nothing the probe made stays behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from regtui.rundir.writer import RunWriteError

WHERE = "(--runs-dir, $REGTUI_RUNS_DIR)"


def check_runs_dir(runs_dir: Path) -> None:
    """Raise RunWriteError (one line naming runs_dir and why) unless a run directory can
    be made under runs_dir: it is a file, lies below a file, is read-only, full, ..."""
    runs_dir = Path(runs_dir)
    if os.path.lexists(runs_dir) and not runs_dir.is_dir():
        kind = ("a broken symbolic link" if runs_dir.is_symlink() and not runs_dir.exists()
                else "a file" if runs_dir.is_file() else "not a folder")
        raise RunWriteError(f"cannot write runs in {runs_dir}: it is {kind}, not a folder "
                            f"{WHERE}")
    existing = runs_dir
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunWriteError(f"cannot write runs in {runs_dir}: {existing} is a file, not a "
                            f"folder {WHERE}")
    created: list[Path] = []
    try:
        for folder in reversed(runs_dir.relative_to(existing).parents[:-1]
                               if existing != runs_dir else ()):
            _make(existing / folder, created)
        if existing != runs_dir:
            _make(runs_dir, created)
        os.rmdir(tempfile.mkdtemp(prefix=".regtui-probe-", dir=runs_dir))
    except OSError as error:
        raise RunWriteError(f"cannot write runs in {runs_dir}: {error.strerror or error}"
                            ) from None
    finally:
        for folder in reversed(created):
            try:
                os.rmdir(folder)
            except OSError:  # another process put something there meanwhile: keep it
                pass


def _make(folder: Path, created: list[Path]) -> None:
    try:
        os.mkdir(folder)
    except FileExistsError:  # made by another process just now
        if not folder.is_dir():
            raise
        return
    created.append(folder)
