"""`python -m regtui.cli`: the same as the `regtui` command."""

from __future__ import annotations

import sys

from regtui.cli import app

sys.exit(app())
