"""The data model: labelled arrays, metadata schema, provenance, units, result records, errors."""

from ionscope.model.arrays import (
    KIND_DIMS,
    coord,
    kind_of,
    labelled,
    make_depth_profile,
    make_ion_image,
    make_spectrum,
    make_volume,
    pixel_axis,
    spacing_of,
    validate,
)
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
from ionscope.model.metadata import Acquisition, Provenance, SampleHistory, get_metadata, set_metadata
from ionscope.model.provenance import make_provenance, sha256_of
from ionscope.model.result import Quantity, Result

__all__ = [
    "KIND_DIMS", "AbsurdSizeError", "Acquisition", "FormatError", "InputNotFoundError", "IonscopeError",
    "OutputExistsError", "Provenance", "Quantity", "Result", "SampleHistory", "UnitError",
    "UnknownFormatError", "UnsupportedError", "ValidationError", "coord", "get_metadata", "kind_of",
    "labelled", "make_depth_profile", "make_ion_image", "make_provenance", "make_spectrum", "make_volume",
    "pixel_axis", "set_metadata", "sha256_of", "spacing_of", "validate",
]
