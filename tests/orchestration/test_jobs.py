"""Jobs run their steps in the run's own process: a UI launch costs one process start, not one per step."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.definitions import defs


@pytest.mark.parametrize("job", ["nightly_sync", "mrr_history", "lifecycle_events"])
def test_every_job_runs_its_steps_in_process(job):
    assert defs.resolve_job_def(job).executor_def is dg.in_process_executor
