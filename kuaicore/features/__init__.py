"""Feature building: `sql/*.sql` run by DuckDB under a memory limit into the training artifacts (ART/).

`build_features(config)` is the one entry point (see build.py); sqlfiles.py loads and checks the SQL files,
runner.py executes them, assemble.py/matrices.py turn the small result tables into matrices, artifacts.py
writes everything atomically.
"""

from __future__ import annotations

from kuaicore.features.build import build_features

__all__ = ["build_features"]
