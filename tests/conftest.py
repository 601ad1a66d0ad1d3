"""Shared fixtures: tiny synthetic data made once per session, and the real KuaiRec files when present."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Two fake CPU devices so sharded (data-parallel) training code runs in tests without a GPU. Must be set
# before jax is first imported anywhere in the test session.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Compiled JAX programs are shared by the tests of one process, their own jits and child processes included
# (JAX reads its variable at import), and never kept in the user's ~/.cache (kuaicore.training.compile_cache):
# a folder of the process's own, removed at exit. Set, not defaulted: pytest-xdist's workers inherit the
# controller's environment, and JAX writes a cache entry in place (no lock unless it evicts), so two workers
# sharing a folder could read each other's half-written entry (a warning, hence an error here). Named like
# kuaicore's own scratch folders, so that the next session sweeps what a killed one left.
from kuaicore.atomic import scratch_prefix  # noqa: E402  (no JAX import: kuaicore.atomic is plain Python)

_JAX_CACHE = tempfile.TemporaryDirectory(prefix=scratch_prefix("test-jax-cache"))
os.environ["KUAICORE_JAX_CACHE"] = _JAX_CACHE.name
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE.name

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# No per-example deadline: the machines are shared, and a slow example is not a wrong one.
settings.register_profile("kuaicore", deadline=None)
settings.load_profile("kuaicore")

REPO = Path(__file__).resolve().parents[1]
SHARED_KUAIREC = REPO.parent / "shared" / "kuairec"


@pytest.fixture(scope="session")
def shared_kuairec() -> Path:
    """The folder of real KuaiRec files beside the repo (CI has it; a user's clone does not)."""
    if not (SHARED_KUAIREC / "item_categories.csv").is_file():
        pytest.skip(
            f"real KuaiRec files not found at {SHARED_KUAIREC} (present in CI, absent in a user's clone)"
        )
    return SHARED_KUAIREC


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """`kuaicore synth --scale tiny --seed 0` output, made once per session (read-only for tests)."""
    from kuaicore.config import SynthConfig
    from kuaicore.data.synth import write_synthetic

    out = tmp_path_factory.mktemp("tiny") / "kuairec"
    write_synthetic(SynthConfig(out=out, scale="tiny", seed=0))
    return out


@pytest.fixture(scope="session")
def tiny_art(tiny_data, tmp_path_factory) -> Path:
    """build-features over ``tiny_data``, made once per session (tests copy it before writing runs)."""
    from kuaicore.config import FeatureConfig
    from kuaicore.features import build_features

    art = tmp_path_factory.mktemp("tiny_art") / "art"
    build_features(FeatureConfig(data=tiny_data, out=art, threads=1))
    return art
