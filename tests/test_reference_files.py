"""Tests that need ../shared/reference skip on a user's clone and fail in CI (tests/fixtures/reference.py)."""

from pathlib import Path

import pytest

from tests.fixtures import reference


def test_a_present_file_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spec.yaml").write_text("openapi: 3.0.0")
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path)
    monkeypatch.setenv("CI", "true")
    assert reference.reference_file("spec.yaml") == tmp_path / "spec.yaml"


def test_a_missing_file_skips_with_its_path_on_a_users_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"spec\.yaml is missing"):
        reference.reference_file("spec.yaml")


def test_a_missing_file_fails_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"spec\.yaml is missing.*CI=true requires it"):
        reference.reference_file("spec.yaml")
