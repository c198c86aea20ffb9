"""The `--state-file`: JSON loaded on start and written on stop, so separate runs share one workspace."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .app import IntercomEmulator


def load_state_file(app: IntercomEmulator, path: Path) -> bool:
    """Load `path` into `app` when it exists; True if something was loaded."""
    if not path.exists():
        return False
    app.load_state(json.loads(path.read_text()))
    return True


def save_state_file(app: IntercomEmulator, path: Path) -> None:
    """Write atomically: a crash mid-write must not leave the next run a truncated file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(app.state_snapshot(), handle)
    os.replace(tmp, path)
