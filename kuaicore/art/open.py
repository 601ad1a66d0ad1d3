"""``open_art(path) -> Art``: the ART folder as one typed object with a loader per part.

The manifest is read and checked once (kuaicore.art.read_manifest: sizes of the listed files); the other
parts load when asked for: the feature matrices (as stored, standardised; :meth:`Art.raw_features` undoes the
scaling), the id maps, and the rows of a split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import layout
from kuaicore.art.scaling import raw_columns
from kuaicore.errors import ArtifactError


@dataclass(frozen=True)
class Art:
    """An opened ART folder: ``path`` and its checked ``manifest``."""

    path: Path
    manifest: dict[str, Any]

    @property
    def n_users(self) -> int:
        return int(self.manifest["n_users"])

    @property
    def n_items(self) -> int:
        return int(self.manifest["n_items"])

    def file(self, name: str) -> Path:
        """``ART/name`` (a name of kuaicore.art.layout); ArtifactError when it is missing."""
        return layout.need(self.path / name)

    def array(self, name: str, mmap: bool = False) -> np.ndarray:
        """A ``.npy`` file of ART, loaded without pickle and checked finite (unless memory-mapped)."""
        from kuaicore.art import check_finite

        path = self.file(name)
        try:
            arr = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
        except (OSError, ValueError) as err:
            raise ArtifactError(f"{path}: not a plain .npy array ({err})") from None
        return arr if mmap else check_finite(path, arr)

    def features(self, kind: str) -> np.ndarray:
        """The standardised ``user`` or ``item`` feature matrix, float32 [n, F], row = index."""
        return self.array(layout.USER_FEATURES if kind == "user" else layout.ITEM_FEATURES)

    def feature_names(self, kind: str) -> list[str]:
        return list(self.manifest.get(f"{kind}_feature_names", []))

    def feature_stats(self, kind: str) -> list[dict[str, Any]] | None:
        """The manifest's scaling statistics of the ``user``/``item`` features (None: not scaled)."""
        return self.manifest.get(f"{kind}_feature_stats")

    def raw_features(self, kind: str, names: list[str]) -> np.ndarray:
        """The ``user``/``item`` feature columns ``names`` in their raw units (float64 [n, len(names)])."""
        all_names = self.feature_names(kind)
        missing = [n for n in names if n not in all_names]
        if missing:
            raise ArtifactError(f"{self.path / layout.MANIFEST}: no {kind} feature {missing[0]!r}")
        cols = [all_names.index(n) for n in names]
        return raw_columns(self.features(kind), cols, self.feature_stats(kind))

    def ids(self, kind: str) -> np.ndarray:
        """The ``user``/``item`` id map: int64 [n], index -> the dataset's id."""
        return self.array(layout.USER_IDS if kind == "user" else layout.ITEM_IDS)

    def rows(self, split: str, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
        """``columns`` of a split (train, valid or eval) as NumPy arrays, in file order."""
        import pyarrow.parquet as pq

        path = layout.need(layout.split_path(self.path, split))
        try:
            table = pq.read_table(path, columns=list(columns))
        except (OSError, ValueError, KeyError) as err:
            raise ArtifactError(f"{path}: unreadable ({err})") from err
        return {c: table.column(c).to_numpy() for c in columns}


def open_art(path: Path | str, required: tuple[str, ...] = ("n_users", "n_items")) -> Art:
    """The ART folder at ``path``, its manifest read and checked; ArtifactError naming what is wrong."""
    from kuaicore.art import read_manifest

    return Art(Path(path), read_manifest(Path(path), required))
