"""ionscope: quantitative, reproducible analysis of buried battery interfaces.

TOF-SIMS spectra, ion images, depth profiles, 3D, raw events, operando series and isotope-exchange
diffusion; FIB-SEM serial sections and microstructure; in one labelled-array data model with
units, provenance and uncertainties.

>>> import ionscope
>>> data = ionscope.read("profile.txt")            # doctest: +SKIP
>>> ionscope.save(data, "profile.zarr")            # doctest: +SKIP

The readers, writers and model classes are imported on first use (PEP 562 module ``__getattr__``,
through scientific-python's ``lazy_loader``), so ``import ionscope`` and ``ionscope --version`` stay fast.
"""

from importlib.metadata import PackageNotFoundError, version

import lazy_loader

try:
    __version__ = version("ionscope")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__getattr__, _lazy_dir, _lazy_names = lazy_loader.attach(__name__, submod_attrs={
    "io": ["load", "plugins", "read", "save", "write"],
    "model": ["IonscopeError", "Quantity", "Result"],
})

__all__ = sorted(["__version__", *_lazy_names])


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_lazy_names))
