"""Options every command group shares, defined once: ``--json`` and ``--force``."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object: the result with units, "
                                                      "uncertainties and the inputs' SHA-256.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing outputs.")]
