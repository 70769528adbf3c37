"""Shared helpers of the example scripts: where figures go, and a non-interactive plotting backend."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

#: Default folder for the figures, relative to the current directory (override with the second
#: command-line argument; ``make example-figures`` passes docs/images/examples to refresh the README's).
FIGURES = Path("example-figures")


def figure_dir() -> Path:
    """The folder for this run's figures (second argument, or ./example-figures/)."""
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else FIGURES
    out.mkdir(parents=True, exist_ok=True)
    return out


def input_path() -> Path | None:
    """The data file given as first argument (``-`` or nothing: simulate one)."""
    return Path(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else None
