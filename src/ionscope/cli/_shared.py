"""The options every analysis command gets from :func:`ionscope.cli.common.install_shared_options`.

Declared once as a typer signature (so help, types and checks look like every other option) and built
into click options here; no ``from __future__ import annotations``: typer evaluates these annotations.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.main


def options(
    sample: Annotated[Optional[Path], typer.Option(
        "--sample", dir_okay=False, help="Sample history file (YAML/JSON); overrides sample.yaml and "
                                         "NAME.sample.yaml beside the data.")] = None,
    catalog: Annotated[bool, typer.Option(
        "--catalog", help="Add the result to the default results catalogue (see `ionscope catalog`).")] = False,
    catalog_db: Annotated[Optional[str], typer.Option(
        "--catalog-db", metavar="PATH_OR_URL", help="Add the result to this catalogue (SQLite file or "
                                                    "postgresql:// URL).")] = None,
) -> None:
    """Shared options of analysis commands."""


@lru_cache(maxsize=1)
def shared_params() -> tuple[Any, ...]:
    """The click parameters of :func:`options`, built by typer."""
    holder = typer.Typer(add_completion=False)
    holder.command()(options)
    return tuple(typer.main.get_command(holder).params)
