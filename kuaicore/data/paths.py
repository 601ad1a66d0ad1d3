"""Resolve a DATA argument to the folder that holds the KuaiRec CSV files.

Accepted layouts, tried in this order (the first that holds any of the seven KuaiRec file names wins):
``DATA`` itself (e.g. ``KuaiRec 2.0/data``), ``DATA/data`` (``KuaiRec 2.0/`` or a folder written by
``kuaicore synth``), ``DATA/KuaiRec 2.0/data`` and ``DATA/KuaiRec 2.0`` (a parent holding the unzipped
``KuaiRec 2.0/``).
"""

from __future__ import annotations

from pathlib import Path

from kuaicore.errors import DataError
from kuaicore.schema import FILES

KUAIREC_FOLDER = "KuaiRec 2.0"


def candidate_dirs(data: Path) -> list[Path]:
    """The folders looked at for DATA, in order of preference."""
    data = Path(data)
    return [data, data / "data", data / KUAIREC_FOLDER / "data", data / KUAIREC_FOLDER]


def has_kuairec_files(folder: Path) -> bool:
    """True if ``folder`` holds at least one of the seven KuaiRec CSV file names."""
    return folder.is_dir() and any((folder / f.filename).is_file() for f in FILES)


def resolve_data_dir(data: Path) -> Path:
    """The folder holding the CSVs for DATA; ``DataError`` naming the places looked at if there is none."""
    data = Path(data)
    if not data.exists():
        raise DataError(f"DATA folder {data} does not exist")
    if not data.is_dir():
        raise DataError(f"DATA {data} is not a folder (give a KuaiRec 2.0/ folder or its data/ folder)")
    for folder in candidate_dirs(data):
        if has_kuairec_files(folder):
            return folder
    looked = ", ".join(str(p) for p in candidate_dirs(data))
    raise DataError(f"no KuaiRec CSV files (big_matrix.csv, ...) found in {data} (looked in {looked})")
