"""Hypothesis strategies shared by the property tests: finite numbers, units, quantities."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

from ionscope.model.result import Quantity

#: Each property test's budget: the whole folder stays under ~20 s on a loaded 2-core machine.
FAST = settings(max_examples=40, deadline=None)
#: For tests that write files.
IO = settings(max_examples=5, deadline=None)

#: Magnitudes spanning what ionscope reports (1e-15 cm^2/s … 1e12 ions/cm^2), both signs.
magnitudes = st.floats(min_value=1e-15, max_value=1e12, allow_nan=False, allow_infinity=False)
values = st.one_of(magnitudes, magnitudes.map(lambda v: -v), st.just(0.0))
#: Relative uncertainties between 1e-6 and 50 %.
relative = st.floats(min_value=1e-6, max_value=0.5)

#: Units of ionscope's vocabulary, with the other spellings that must read as the same unit.
UNITS = ["µm", "nm", "s", "h", "nm/s", "pA", "ions/cm^2", "cm^2/s", "cm/s", "counts", "m/z", "K", "eV",
         "µm^-1", "1", "µm^2", "µm^3", "S/cm", "cm^-3", "V"]
units = st.sampled_from(UNITS)

#: (unit, other units of the same dimension) for conversion round trips.
FAMILIES = {
    "µm": ["nm", "mm", "cm", "m", "Å"],
    "s": ["ms", "min", "h", "d"],
    "cm^2/s": ["m^2/s", "µm^2/s", "nm^2/s"],
    "nm/s": ["µm/h", "cm/s"],
    "pA": ["nA", "µA"],
    "K": ["°C"],
}


@st.composite
def quantities(draw, unit=None, with_none: bool = True) -> Quantity:
    """A scalar quantity; its uncertainty is ``None`` (with a reason) in some draws when ``with_none``."""
    value = draw(values)
    u = draw(units) if unit is None else unit
    if with_none and draw(st.booleans()) and draw(st.booleans()):
        return Quantity(value, None, u, why_no_uncertainty="drawn without one")
    scale = abs(value) if value else 1.0
    return Quantity(value, scale * draw(relative), u)
