"""Options every command group shares, defined once (``--json``, ``--force``, ``--quiet``), and the one
way an option is renamed: the old spelling stays accepted, hidden from ``--help``, with a deprecation
warning on stderr (:func:`deprecated_spelling`, :func:`renamed`).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object: the result with units, "
                                                      "uncertainties and the inputs' SHA-256.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing outputs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars (they are also off under "
                                                              "--json and when stderr is not a terminal).")]

T = TypeVar("T")


def deprecated_spelling(old: str, new: str) -> Any:
    """A hidden ``typer.Option`` for the old spelling ``old`` of the option now called ``new``.

    Declare it as a second parameter next to the new option and pass both through :func:`renamed`.
    """
    return typer.Option(old, hidden=True, help=f"Deprecated spelling of {new}.")


def renamed(value: T, old_value: T | None, *, old: str, new: str, default: Any = None) -> T:
    """The value of a renamed option: ``value`` (given as ``new``) or ``old_value`` (given as ``old``).

    The old spelling is accepted with a deprecation warning on stderr (stdout stays the command's output,
    under ``--json`` too); giving both spellings is a :class:`~ionscope.model.errors.ValidationError`.

    Parameters
    ----------
    value : object
        Value of the option under its new name (``default`` when not given).
    old_value : object or None
        Value of the hidden old spelling (None when not given).
    old, new : str
        The two spellings, e.g. ``"--tol-ppm"`` and ``"--tolerance-ppm"``, for the messages.
    default : object
        Default of the new option: a value equal to it counts as "not given".

    Returns
    -------
    object
        The value to use.
    """
    if old_value is None:
        return value
    if value is not None and value != default:
        from ionscope.model.errors import ValidationError

        raise ValidationError(f"give {new} or its old spelling {old}, not both")
    from ionscope.cli.common import err_console

    err_console.print(f"[yellow]warning:[/yellow] {old} is deprecated and will be removed; use {new}",
                      highlight=False, soft_wrap=True)
    return old_value


def finite_at_least(minimum: float) -> Any:
    """A ``typer.Option`` callback refusing NaN, infinities and numbers below ``minimum`` as a usage error
    naming the option (exit 2): click's ``min=`` lets NaN through, as every comparison with it is false."""
    import math

    def check(value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value >= minimum):
            raise typer.BadParameter(f"must be a finite number ≥ {minimum:g}, got {value}")
        return value

    return check
