"""One subpackage per asset group (ingest, revenue, attributes, plays, checks, push, lifecycle).

Each group's `__init__` exposes its plain-Python API; only its `assets.py` imports Dagster, and
`metadata.py` here is the one Dagster helper the groups share. docs/architecture.md draws the layers.
"""

from typing import Any, Protocol


class Log(Protocol):
    """What every group's service writes progress to: Dagster's `context.log` or a `logging.Logger`."""

    def info(self, msg: str) -> Any: ...

    def warning(self, msg: str) -> Any: ...
