"""Shared fixtures: tiny synthetic data made once per session, and the real KuaiRec files when present."""

from __future__ import annotations

import os
from pathlib import Path

# Two fake CPU devices so sharded (data-parallel) training code runs in tests without a GPU. Must be set
# before jax is first imported anywhere in the test session.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_KUAIREC = REPO.parent / "shared" / "kuairec"


@pytest.fixture(scope="session")
def shared_kuairec() -> Path:
    """The folder of real KuaiRec files beside the repo (CI has it; a user's clone does not)."""
    if not (SHARED_KUAIREC / "item_categories.csv").is_file():
        pytest.skip(f"real KuaiRec files not found at {SHARED_KUAIREC} (present in CI, absent in a user's clone)")
    return SHARED_KUAIREC
