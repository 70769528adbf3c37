"""Checks on printed JSON: every physical number is a ``{value, uncertainty, unit}``."""

from __future__ import annotations

import re
from typing import Any

from ionscope.model.result import UNIT_SUFFIXES

QUANTITY_KEYS = {"value", "uncertainty", "unit"}
#: Metadata records (acquisition, sample, provenance) follow their own schema, whose field names
#: carry the unit (``pixel_size_um``); they are not results.
METADATA_KEYS = {"attrs", "acquisition", "sample", "provenance"}
_SUFFIX = re.compile(r"_(" + "|".join(sorted(map(re.escape, UNIT_SUFFIXES), key=len, reverse=True)) + r")$")


def _numeric(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return isinstance(v, list) and bool(v) and all(_numeric(x) or x is None for x in v)


def bare_physical_numbers(doc: Any, path: str = "") -> list[str]:
    """Paths of physical numbers not written as a quantity.

    Two patterns are refused: a mapping with a ``unit`` key that is not exactly a quantity (a bare
    number next to a separate unit), and a number under a key that names a unit (``width_nm``,
    ``D_cm2_s``): such a number must be a quantity under a plain name.
    """
    bad: list[str] = []
    if isinstance(doc, dict):
        if "unit" in doc and set(doc) != QUANTITY_KEYS:
            bad.append(f"{path or '<root>'}: 'unit' next to {sorted(set(doc) - {'unit'})[:5]}")
        if "uncertainty" in doc and set(doc) != QUANTITY_KEYS:
            bad.append(f"{path or '<root>'}: 'uncertainty' beside a value, not in a quantity")
        for k, v in doc.items():
            if k in METADATA_KEYS:
                continue
            sub = f"{path}.{k}" if path else str(k)
            if _SUFFIX.search(str(k)) and _numeric(v):
                bad.append(f"{sub}: a bare number whose key names its unit")
            bad += bare_physical_numbers(v, sub)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            bad += bare_physical_numbers(v, f"{path}[{i}]")
    return bad
