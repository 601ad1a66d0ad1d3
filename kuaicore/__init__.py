"""kuaicore: a low-memory, out-of-core recommender engine for the KuaiRec 2.0 dataset.

Data flows one way: raw CSVs -> ``validate`` -> ``build-features`` (DuckDB SQL) -> ``train`` (JAX)
-> ``evaluate`` / ``recommend`` (Numba kernels). Heavy libraries are imported by the commands that need them.
"""

__version__ = "0.1.0"
