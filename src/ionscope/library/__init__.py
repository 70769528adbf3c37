"""Isotope masses and abundances, formula parsing, and the battery marker catalogue (versioned data files)."""

from ionscope.library.formula import Formula, FormulaError, formula_from_counts, ion_mz, parse_formula
from ionscope.library.isotopes import (
    ELECTRON_MASS,
    Element,
    diagnostic_elements,
    element,
    isotope_table,
    multi_isotope_elements,
)
from ionscope.library.markers import (
    COMPONENTS,
    Interference,
    LibraryError,
    Marker,
    MarkerLibrary,
    builtin_library,
    interferences_for,
    load_library,
    validate_library,
)
from ionscope.library.patterns import IsotopePattern, isotope_pattern
from ionscope.library.reference_ions import REFERENCE_IONS, reference_ions

__all__ = [
    "COMPONENTS", "ELECTRON_MASS", "REFERENCE_IONS", "Element", "Formula", "FormulaError", "Interference",
    "IsotopePattern", "LibraryError", "Marker", "MarkerLibrary", "builtin_library", "diagnostic_elements", "element",
    "formula_from_counts", "interferences_for", "ion_mz", "isotope_pattern", "isotope_table", "load_library",
    "multi_isotope_elements", "parse_formula", "reference_ions", "validate_library",
]
