"""ionscope: quantitative, reproducible analysis of buried battery interfaces.

TOF-SIMS spectra, ion images, depth profiles, 3D, raw events, operando series and isotope-exchange
diffusion; FIB-SEM serial sections and microstructure; in one labelled-array data model with
units, provenance and uncertainties.

>>> import ionscope
>>> data = ionscope.read("profile.txt")            # doctest: +SKIP
>>> ionscope.save(data, "profile.zarr")            # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ionscope")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from ionscope.io import load, plugins, read, save, write
from ionscope.model import IonscopeError, Quantity, Result

__all__ = ["IonscopeError", "Quantity", "Result", "__version__", "load", "plugins", "read", "save", "write"]
