"""Each asset group's package root is its plain-Python API: importable alone, without its
Dagster assets module; and every plain module (all but `assets.py`) loads no Dagster at all."""

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

GROUPS = ["ingest", "revenue", "attributes", "push", "lifecycle"]
REPO = Path(__file__).resolve().parents[2]
ALL_GROUPS = sorted(p.name for p in (REPO / "assets").iterdir() if (p / "__init__.py").exists())


def _plain_modules(group: str) -> list[str]:
    names = sorted(p.stem for p in (REPO / "assets" / group).glob("*.py") if p.stem not in ("assets", "__init__"))
    return [f"assets.{group}", *(f"assets.{group}.{name}" for name in names)]


def _import_alone(*modules: str) -> dict[str, object]:
    """Import `modules` in a fresh interpreter; report which Dagster-side modules came with them."""
    probe = (
        f"import json, sys; import {', '.join(modules)}; "
        "print(json.dumps({'dagster': 'dagster' in sys.modules, "
        "'asset_modules': sorted(m for m in sys.modules if m.startswith('assets.') and m.endswith('.assets'))}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"import {modules} failed alone:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_imports_alone_without_its_dagster_assets(group: str) -> None:
    loaded = _import_alone(f"assets.{group}")
    assert loaded["asset_modules"] == [], f"assets.{group} pulls in Dagster asset modules {loaded['asset_modules']}"


def test_the_revenue_engine_imports_without_dagster() -> None:
    assert _import_alone("assets.revenue")["dagster"] is False


@pytest.mark.parametrize("group", ALL_GROUPS)
def test_plain_modules_load_no_dagster(group: str) -> None:
    modules = _plain_modules(group)
    assert _import_alone(*modules)["dagster"] is False, f"one of {modules} loads Dagster"


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
