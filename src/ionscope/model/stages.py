"""How a long analysis reports its stages without knowing how they are displayed.

An analysis takes ``stage``: called as ``stage(name, total)`` (``total`` the number of steps, or
``None`` when unknown), it returns a context manager whose value has ``advance(n)`` and
``update(**fields)``. The command line passes :func:`ionscope.cli.common.progress` (rich progress
bars); in Python the default, :func:`silent_stage`, shows nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

Stage = Callable[[str, "float | None"], contextlib.AbstractContextManager[Any]]


class _Silent:
    """A stage's task that shows nothing."""

    def advance(self, n: float = 1) -> None:
        """Nothing to show."""

    def update(self, **kwargs: Any) -> None:
        """Nothing to show."""


def silent_stage(name: str, total: float | None = None) -> contextlib.AbstractContextManager[Any]:
    """A stage without a progress display."""
    return contextlib.nullcontext(_Silent())


__all__ = ["Stage", "silent_stage"]
