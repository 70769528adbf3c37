"""ionscope: quantitative, reproducible analysis of buried battery interfaces.

TOF-SIMS spectra, ion images, depth profiles, 3D, raw events, operando series and isotope-exchange
diffusion; FIB-SEM serial sections and microstructure; in one labelled-array data model with
units, provenance and uncertainties.

>>> import ionscope
>>> data = ionscope.read("profile.txt")            # doctest: +SKIP
>>> ionscope.save(data, "profile.zarr")            # doctest: +SKIP

The readers, writers and model classes are imported on first use (PEP 562 module ``__getattr__``), so
``import ionscope`` and ``ionscope --version`` stay fast.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("ionscope")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

_LAZY = {"load": "ionscope.io", "plugins": "ionscope.io", "read": "ionscope.io", "save": "ionscope.io",
         "write": "ionscope.io", "IonscopeError": "ionscope.model", "Quantity": "ionscope.model",
         "Result": "ionscope.model"}

__all__ = ["IonscopeError", "Quantity", "Result", "__version__", "load", "plugins", "read", "save", "write"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ionscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
