"""Shared helpers of the example scripts: where figures go, and a non-interactive plotting backend."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

#: Figures shown in the README are written here (override with the second command-line argument).
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "images" / "examples"


def figure_dir() -> Path:
    """The folder for this run's figures (second argument, or docs/images/examples/)."""
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else FIGURES
    out.mkdir(parents=True, exist_ok=True)
    return out


def input_path() -> Path | None:
    """The data file given as first argument (``-`` or nothing: simulate one)."""
    return Path(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else None
