"""Shared fixtures: the real datasets beside the checkout, and a fixed seed."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RNN_ZOO_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ../shared/data (CI lays them beside the clone)."""
    assert SHARED_DATA.is_dir(), f"real datasets expected at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
