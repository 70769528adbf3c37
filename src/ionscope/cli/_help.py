"""How ``--help`` shows options: flags as flags.

Typer's rich help gives every option a type column; for an on/off flag (``--json``, ``--force``)
it prints ``<bool>``, as if the flag took a value. Flags take none, so their type column is left
empty; options that take a value keep theirs (``<str>``, ``<float>``, ``<path>``).
"""

from __future__ import annotations

from typing import Any


def show_flags_as_flags() -> None:
    """Leave the type column of on/off flags empty in every command's ``--help`` (idempotent)."""
    try:
        from typer.core import TyperOption
    except ImportError:  # a Typer without its own option class prints click's help, which has no such column
        return
    original = TyperOption.display_type_rich
    if getattr(original, "_flags_as_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return original(self, ctx)

    display_type_rich._flags_as_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich
