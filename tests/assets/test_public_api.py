"""Each asset group's package root is its plain-Python API: importable alone, without its
Dagster assets module, and (for the revenue engine) without Dagster at all."""

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

GROUPS = ["ingest", "revenue", "attributes", "push", "lifecycle"]
REPO = Path(__file__).resolve().parents[2]


def _import_alone(module: str) -> dict[str, object]:
    """Import `module` in a fresh interpreter; report which Dagster-side modules came with it."""
    probe = (
        f"import json, sys; import {module}; "
        "print(json.dumps({'dagster': 'dagster' in sys.modules, "
        "'asset_modules': sorted(m for m in sys.modules if m.startswith('assets.') and m.endswith('.assets'))}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"import {module} failed alone:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_imports_alone_without_its_dagster_assets(group: str) -> None:
    loaded = _import_alone(f"assets.{group}")
    assert loaded["asset_modules"] == [], f"assets.{group} pulls in Dagster asset modules {loaded['asset_modules']}"


def test_the_revenue_engine_imports_without_dagster() -> None:
    assert _import_alone("assets.revenue")["dagster"] is False


@pytest.mark.parametrize("group", GROUPS)
def test_every_public_name_exists(group: str) -> None:
    package = importlib.import_module(f"assets.{group}")
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert package.__all__ and not missing, f"assets.{group}.__all__ names {missing} it does not define"


def test_subscription_mrr_keeps_its_documented_signature() -> None:
    from assets.revenue import Money, RevenueRules, subscription_mrr

    params = inspect.signature(subscription_mrr).parameters
    assert list(params)[:2] == ["subscription", "rules"]
    assert params["rules"].default is None
    assert inspect.signature(subscription_mrr).return_annotation in (Money, "Money")
    assert isinstance(RevenueRules(), RevenueRules)
