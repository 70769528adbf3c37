"""Optional heavy dependencies, imported only when a feature needs them, with the extra that installs them."""

from __future__ import annotations

from typing import Any

from ionscope.model.errors import UnsupportedError


def require_torch(feature: str = "this method") -> Any:
    """Import PyTorch, or raise an :class:`UnsupportedError` naming the ``ml`` extra that installs it."""
    try:
        import torch
    except ImportError as exc:
        raise UnsupportedError(f"{feature} needs PyTorch: pip install 'ionscope[ml]'") from exc
    return torch


__all__ = ["require_torch"]
