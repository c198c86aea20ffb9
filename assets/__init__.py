"""One subpackage per asset group (ingest, revenue, attributes, push, lifecycle).

Each group's `__init__` exposes its plain-Python API; only its `assets.py` imports Dagster, and
`metadata.py` here is the one Dagster helper the groups share. docs/architecture.md draws the layers.
"""
