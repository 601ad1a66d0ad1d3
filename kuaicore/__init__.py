"""kuaicore: a low-memory, out-of-core recommender engine for the KuaiRec 2.0 dataset.

Data flows one way: raw CSVs -> ``validate`` -> ``build-features`` (DuckDB SQL) -> ``train`` (JAX)
-> ``evaluate`` / ``recommend`` (Numba kernels). Each stage is a function here (kuaicore.api) taking the
CLI's options; heavy libraries are imported only when a stage runs, so ``import kuaicore`` is instant.
"""

__version__ = "0.1.0"

from kuaicore.api import build_features, compare, evaluate, recommend, synth, train, tune, validate  # noqa: E402

__all__ = ["build_features", "compare", "evaluate", "recommend", "synth", "train", "tune", "validate"]
