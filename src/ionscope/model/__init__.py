"""The data model: labelled arrays, metadata schema, provenance, units, result records, errors.

Only the errors load eagerly; ``arrays`` (xarray), ``metadata`` (pydantic), ``provenance`` and ``result``
load on first use (PEP 562), so ``ionscope --version`` and ``--help`` start fast.
"""

import lazy_loader

from ionscope.model.errors import (
    AbsurdSizeError,
    FormatError,
    InputNotFoundError,
    IonscopeError,
    OutputExistsError,
    UnitError,
    UnknownFormatError,
    UnsupportedError,
    ValidationError,
)

__all__ = [
    "KIND_DIMS", "AbsurdSizeError", "Acquisition", "FormatError", "InputNotFoundError", "IonscopeError",
    "OutputExistsError", "Provenance", "Quantity", "Result", "SampleHistory", "UnitError",
    "UnknownFormatError", "UnsupportedError", "ValidationError", "coord", "get_metadata", "kind_of",
    "labelled", "make_depth_profile", "make_ion_image", "make_provenance", "make_spectrum", "make_volume",
    "pixel_axis", "set_metadata", "sha256_of", "spacing_of", "validate",
]

__getattr__, _, _ = lazy_loader.attach(__name__, submod_attrs={
    "arrays": ["KIND_DIMS", "coord", "kind_of", "labelled", "make_depth_profile", "make_ion_image", "make_spectrum",
               "make_volume", "pixel_axis", "spacing_of", "validate"],
    "metadata": ["Acquisition", "Provenance", "SampleHistory", "get_metadata", "set_metadata"],
    "provenance": ["make_provenance", "sha256_of"],
    "result": ["Quantity", "Result"],
})
