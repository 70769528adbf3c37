"""What makes a folder a Zarr store (one dataset, opened as a file, not searched for data files), and
whether a folder may be written.

Kept free of heavy imports (no zarr, no xarray) so that path checks in every command stay cheap.
"""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path

#: Files at the top of a Zarr store: v3 metadata, v2 group, v2 array.
ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray")


def is_zarr_store(path: str | PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding Zarr metadata at its top (:data:`ZARR_MARKERS`)."""
    p = Path(path)
    return p.is_dir() and any((p / f).exists() for f in ZARR_MARKERS)


def is_dataset_folder(path: str | PathLike[str]) -> bool:
    """Whether ``path`` is one dataset rather than a folder of data files: a Zarr store, or any path named
    ``*.zarr`` (a store that is not written yet or lost its metadata)."""
    return Path(path).suffix.lower() == ".zarr" or is_zarr_store(path)


def folder_writable(path: str | PathLike[str]) -> bool:
    """Whether the existing folder ``path`` may be written: the process has write and search access, and
    some write permission bit is set — a folder nobody may write to counts as read-only for root too, so
    that a read-only data folder stays as it is."""
    return os.access(path, os.W_OK | os.X_OK) and bool(Path(path).stat().st_mode & 0o222)


__all__ = ["ZARR_MARKERS", "folder_writable", "is_dataset_folder", "is_zarr_store"]
