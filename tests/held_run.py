"""`regtui` in a process whose runs hold after an epoch until they are asked to stop.

Usage: python held_run.py EPOCH regtui-arguments...

Tests that kill, interrupt or watch a real `regtui run` start it through this script: the
run writes EPOCH epochs, then waits between steps until Ctrl-C or SIGTERM asks it to stop
(it then ends as `regtui run` does) or until the test kills it. The test never races it.
"""

from __future__ import annotations

import os
import sys

from helpers import TrainingHold
from regtui import train
from regtui.cli import app

if __name__ == "__main__":
    test_process = os.getppid()
    # A test that died without killing this process: the run stops instead of waiting on.
    hold = TrainingHold(epoch=int(sys.argv.pop(1)), give_up=lambda: os.getppid() != test_process)
    train.start = hold.wrap(train.start)  # the CLI looks it up when the run starts
    app(prog_name="regtui")
