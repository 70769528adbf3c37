"""Metadata schema: acquisition, sample history and provenance.

What is recorded follows López et al. 2021 (doi:10.1039/D1TA04532F) on what decides whether a buried
interface measurement can be trusted.

The models are pydantic so that user-supplied and reader-supplied values are validated with clear
messages. On arrays they are stored as plain dictionaries in ``attrs`` under the keys
``"acquisition"``, ``"sample"`` and ``"provenance"``; :func:`get_metadata` turns them back into models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ionscope.model.errors import ValidationError


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dictionary without unset fields."""
        return self.model_dump(mode="json", exclude_none=True)


class Acquisition(_Record):
    """How a measurement was acquired. Units are in the field names."""

    instrument: str | None = None
    technique: str | None = Field(None, description="e.g. TOF-SIMS, FIB-SEM, SEM-EDS")
    polarity: Literal["positive", "negative"] | None = None
    primary_ion: str | None = Field(None, description="e.g. Bi3+, Ga+, Xe+")
    primary_energy_keV: float | None = Field(None, ge=0)
    primary_current_pA: float | None = Field(None, ge=0)
    raster_size_um: float | None = Field(None, gt=0)
    pixel_size_um: float | None = Field(None, gt=0)
    sputter_ion: str | None = Field(None, description="e.g. Cs+, O2+, Ar1500+")
    sputter_energy_keV: float | None = Field(None, ge=0)
    sputter_current_nA: float | None = Field(None, ge=0)
    shots_per_pixel: int | None = Field(None, gt=0)
    cycle_time_us: float | None = Field(None, gt=0)
    binning: int | None = Field(None, gt=0)
    dead_time_corrected: bool | None = None
    temperature_K: float | None = Field(None, gt=0)
    start_time: datetime | None = None


#: Preparation routes that expose a buried interface (López et al. 2021, doi:10.1039/D1TA04532F, section 3).
PREPARATIONS = (
    "manual-separation", "scalpel", "mechanical-cut", "polished", "cryo-microtomy", "fib", "cryo-fib", "xe-pfib",
    "bib", "cryo-bib", "perforated-collector", "in-chamber-deposition", "as-received", "other",
)
Preparation = Literal[
    "manual-separation", "scalpel", "mechanical-cut", "polished", "cryo-microtomy", "fib", "cryo-fib", "xe-pfib",
    "bib", "cryo-bib", "perforated-collector", "in-chamber-deposition", "as-received", "other",
]


class SampleHistory(_Record):
    """What happened to the sample before and while it was measured.

    The preparation route decides how far a buried-interface measurement can be trusted (López et al.
    2021, J. Mater. Chem. A 9, 25341, doi:10.1039/D1TA04532F): manual separation, a scalpel cut or air
    exposure create the very layers one then measures; cryo-FIB, air-free transfer and an intact holder
    preserve them. Units are in the field names.
    """

    name: str | None = Field(None, description="sample identifier")
    material: str | None = Field(None, description="material or cell stack, e.g. 'Li | LPSCl | NMC622'")
    preparation: Preparation | None = Field(None, description="route that exposed the analysed surface")
    preparation_temperature_K: float | None = Field(None, gt=0, description="temperature during preparation")
    temperature_K: float | None = Field(None, gt=0, description="sample temperature during the measurement")
    air_free_transfer: bool | None = Field(None, description="transferred under inert gas or vacuum")
    holder: str | None = Field(None, description="holder or transfer vessel, e.g. 'vacuum transfer vessel'")
    holder_intact: bool | None = Field(None, description="the holder kept its seal up to the instrument")
    air_exposure_s: float | None = Field(None, ge=0, description="total time the surface saw air")
    measurement_mode: Literal["ex-situ", "in-situ", "operando"] | None = None
    cell_pressure_MPa: float | None = Field(None, ge=0, description="stack pressure during the measurement")
    primary_ion: str | None = Field(None, description="analysis beam species, e.g. Bi3+, Ga+")
    primary_energy_keV: float | None = Field(None, ge=0)
    primary_current_pA: float | None = Field(None, ge=0)
    sputter_ion: str | None = Field(None, description="sputter beam species, e.g. Cs+, Ar+, Ar1500+")
    sputter_energy_keV: float | None = Field(None, ge=0)
    primary_dose_ions_per_cm2: float | None = Field(None, ge=0, description="cumulative primary-ion dose density")
    charge_compensation: str | None = Field(None, description="e.g. 'electron flood gun', 'none'")
    roi_rationale: str | None = Field(None, description="why this region was analysed")
    notes: str | None = None


class Provenance(_Record):
    """Where a result came from: inputs (by content hash), parameters, software and time."""

    software: str = "ionscope"
    version: str
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    operation: str
    inputs: list[dict[str, Any]] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    parents: list[dict[str, Any]] = Field(default_factory=list)


_MODELS: dict[str, type[_Record]] = {
    "acquisition": Acquisition,
    "sample": SampleHistory,
    "provenance": Provenance,
}


def validate_metadata(key: str, value: dict[str, Any] | _Record) -> dict[str, Any]:
    """Validate ``value`` against the schema for ``key`` and return it as a plain dict.

    Raises
    ------
    ValidationError
        Naming the offending field and why it is wrong.
    """
    model = _MODELS[key]
    if isinstance(value, model):
        return value.to_dict()
    try:
        return model.model_validate(value).to_dict()
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or key
        raise ValidationError(f"invalid {key} metadata: {field}: {first['msg']}") from None


def set_metadata(obj: Any, **records: dict[str, Any] | _Record) -> Any:
    """Validate and attach metadata records (``acquisition=…``, ``sample=…``) to ``obj.attrs``."""
    for key, value in records.items():
        if key not in _MODELS:
            raise ValidationError(f"unknown metadata record {key!r}; expected one of {sorted(_MODELS)}")
        obj.attrs[key] = validate_metadata(key, value)
    return obj


def get_metadata(obj: Any, key: str) -> _Record | None:
    """Return the metadata record ``key`` of ``obj`` as a model, or ``None`` if absent."""
    raw = obj.attrs.get(key)
    return None if raw is None else _MODELS[key].model_validate(raw)
