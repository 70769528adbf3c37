"""The output contract as pydantic models: the JSON envelope, quantities, errors, and each command's results.

The JSON Schemas in ``docs/schemas/`` are generated from these models (``make schemas``, i.e.
``python -m ionscope.model.contract docs/schemas``); a test fails when they are stale and another
validates every command's ``--json`` output against its schema.

Each command's results model names the fields that command promises, typed (quantities as
:class:`QuantitySchema`); further fields are allowed, so adding a field is not a breaking change,
while changing a promised field's shape is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from ionscope.model.result import SCHEMA_VERSION

Number = Union[float, int, None]
NumberArray = Union[Number, list[Any]]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuantitySchema(_Closed):
    """A physical number: value, standard uncertainty (1σ, same unit) and unit (``docs/glossary.md``).

    ``value`` may be an array (nested lists) for a curve of one quantity; ``uncertainty`` then has the
    same shape. ``uncertainty`` is ``null`` only where none is estimated, and the envelope's
    ``uncertainty_notes`` then says why. ``value`` is ``null`` only where it is not finite.
    """

    model_config = ConfigDict(extra="forbid", title="Quantity")
    value: NumberArray
    uncertainty: NumberArray
    unit: str = Field(min_length=1)


NoUncertaintyKind = Literal["exact", "bound", "input", "not_estimated", "unstated"]


class UncertaintyNote(_Closed):
    """Why one quantity is printed with ``"uncertainty": null``: the kind of reason and the reason.

    ``kind``: ``exact`` (exact or tabulated, e.g. an isotopic mass), ``bound`` (an upper or detection limit,
    itself the uncertainty statement), ``input`` (given by the user or recorded in the file, used as given),
    ``not_estimated`` (computed; the method gives no error estimate, the reason says why) or ``unstated``
    (no reason stated: also in ``warnings``).
    """

    model_config = ConfigDict(extra="forbid", title="Uncertainty note")
    kind: NoUncertaintyKind
    reason: str = Field(min_length=1)


#: Dotted path of a quantity in ``results`` (``species[0].mz``) → why it has no uncertainty.
UncertaintyNotes = dict[str, UncertaintyNote]


class InputSchema(_Closed):
    """An input file or folder: its path as given, SHA-256 of its content, size in bytes."""

    model_config = ConfigDict(extra="forbid", title="Input")
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class ReasonSchema(_Open):
    """One rule that fired: its code, the tier it caps at, what it means, the paper it rests on."""

    model_config = ConfigDict(extra="allow", title="Reason")
    code: str
    tier: Literal["A", "B", "C", "D", "unknown"]
    message: str
    reference: str


class ReliabilitySchema(_Open):
    """Reliability tier (A best … D, or ``unknown`` without a sample history), its reasons and the sample
    history it rests on (``docs/reliability-tiers.md``)."""

    model_config = ConfigDict(extra="allow", title="Reliability")
    tier: Literal["A", "B", "C", "D", "unknown"]
    at_best: Optional[Literal["A", "B", "C", "D"]] = None
    reasons: list[ReasonSchema] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    sample: Optional[dict[str, Any]] = None
    sample_sources: list[str] = Field(default_factory=list)


class ProvenanceSchema(_Open):
    """Where a result came from: software, version, time, operation, inputs, parameters, parents."""

    model_config = ConfigDict(extra="allow", title="Provenance")
    software: str = "ionscope"
    version: str
    operation: str


class ErrorDetail(_Closed):
    """An expected failure: error class, one-sentence message, the file it is about (or null)."""

    type: str
    message: str
    path: Optional[str]


class ErrorDocument(_Closed):
    """What every command prints on stdout under ``--json`` when it fails (exit code 2)."""

    model_config = ConfigDict(extra="forbid", title="ionscope error")
    error: ErrorDetail


class EnvelopeBase(_Closed):
    """The one JSON envelope of every command."""

    schema_version: Literal[SCHEMA_VERSION]  # type: ignore[valid-type]  # a constant, not a literal: mypy refuses it
    kind: str
    ionscope_version: str
    inputs: list[InputSchema]
    parameters: dict[str, Any]
    results: Any
    reliability: ReliabilitySchema
    warnings: list[str]
    uncertainty_notes: UncertaintyNotes
    provenance: ProvenanceSchema


Q = QuantitySchema


# ---- results of each command -------------------------------------------------------------------

class InfoResults(_Open):
    kind: str
    dims: list[str]
    shape: list[int]
    coords: dict[str, Optional[str]]
    attrs: dict[str, Any]


class ConvertResults(_Open):
    output: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: str
    dims: list[str]
    shape: list[int]
    units: Optional[str] = None


class FormatResults(_Open):
    extensions: list[str]
    kinds: list[str]
    read: bool
    write: bool
    description: str


class Interface(_Open):
    upper: str
    lower: str
    position: Q
    width: Q
    resolved: bool = True
    unresolved_reason: Optional[str] = None


class Layer(_Open):
    dominant_species: str
    start: Q
    end: Q
    thickness: Q
    resolved: bool = True
    unresolved_reason: Optional[str] = None


class DepthLayersResults(_Open):
    axis: str
    interfaces: list[Interface]
    layers: list[Layer]
    depth_layers: Optional[list[Layer]] = None
    artefacts: list[str]


class DiffusionFitResults(_Open):
    model: str
    D: Q
    k: Optional[Q] = None
    diffusion_length: Q
    time: Q
    chi2_red: float


class ArrheniusResults(_Open):
    Ea: Q
    D0: Q
    n_points: int


class HavenResults(_Open):
    D_sigma: Q
    H_R: Q
    T: Q


class LeClaireResults(_Open):
    delta_Dgb: Q
    D_gb: Q
    delta: Q
    beta: float
    regime: str
    tail_start: Q
    tail_end: Q


class DiffusionMapResults(_Open):
    model: str
    isotopes: list[str]
    pixels_fitted: int
    D: Q
    k: Optional[Q] = None
    chi2_red: Optional[float]
    output: str


class DiffusionFractionResults(_Open):
    isotopes: list[str]
    background: Q
    fraction: Q
    normalised_fraction: Q


class DiffusionChemicalResults(_Open):
    D_chemical: Q
    D_sigma: Q
    D_star: Q
    thermodynamic_factor: Q
    H_R: Q


class DiffusionGbResults(_Open):
    delta_Dgb: Q
    D_gb: Q
    le_claire: dict[str, Any]
    beta: float
    regime: str
    le_claire_holds: bool


class CubeInterface(_Open):
    species: str
    pixels: int
    mean_position: Optional[Q] = None
    roughness_rms: Optional[Q] = None


class CubeLayer(_Closed):
    name: str
    request: str
    scans: list[int]


class CubeRoi(_Closed):
    name: str
    pixels: int
    total_counts: dict[str, float]


class DepthCubeResults(_Open):
    axis: str
    shape: list[int]
    interfaces: list[CubeInterface]
    layers: list[CubeLayer] = []
    rois: list[CubeRoi] = []


class DepthMriResults(_Open):
    mixing_length: Q
    roughness: Q
    information_depth: Q
    interfaces: list[Q]
    layers: list[dict[str, Any]]
    reduced_chi2: Optional[float]


class PeakImage(_Closed):
    mz: Q
    total_counts: Q
    max_per_pixel: Q


class ImageResults(_Open):
    output: Optional[str]
    dims: list[str]
    shape: list[int]
    peaks: dict[str, PeakImage]
    #: raw events only: the test of the mass calibration on the first events (ionscope.io.tof_check)
    calibration_check: Optional[dict[str, Any]] = None


class LibraryShowResults(_Open):
    version: Any
    markers: Optional[list[dict[str, Any]]] = None
    interferences: Optional[list[dict[str, Any]]] = None


class LibrarySearchResults(_Open):
    query: dict[str, Any]
    markers: list[dict[str, Any]]


class LibraryValidateResults(_Open):
    file: str
    valid: bool
    problems: list[dict[str, Any]]


class MicroMetricsResults(_Open):
    spacing: Q
    phases: dict[str, dict[str, Any]]


class MicroTransportDirection(_Open):
    """Along one direction: the effective coefficient (with τ and MacMullin number when one phase
    conducts), or ``effective: null`` and the reason when nothing connects the two faces."""

    effective: Optional[Q]
    tortuosity: Optional[Q] = None
    macmullin: Optional[Q] = None
    reason: Optional[str] = None


class MicroTransportResults(_Open):
    coefficients: dict[str, Q]
    x: Optional[MicroTransportDirection] = None
    y: Optional[MicroTransportDirection] = None
    z: Optional[MicroTransportDirection] = None
    electrode_tortuosity: Optional[Union[Q, dict[str, Any]]] = None


class MicroExportParameters(_Open):
    porosity: Q
    tortuosity: Q
    transport_efficiency: Q
    active_fraction: Q
    bruggeman: Q
    particle_radius: Q
    surface_area_per_volume: Q
    axis: str


class MicroExportResults(_Open):
    output: str
    format: Literal["bpx", "pybamm"]
    base: str
    electrode: Literal["positive", "negative"]
    microstructure: MicroExportParameters
    sources: dict[str, str]


class MicroProfileSlab(_Open):
    from_: Q = Field(alias="from")
    to: Q
    volume_fraction: float
    percolating: bool
    tortuosity: Optional[float]


class MicroProfileResults(_Open):
    phase: str
    axis: str
    position: Q
    volume_fraction: list[float]
    slabs: Optional[list[MicroProfileSlab]] = None


class MicroSubvolumes(_Open):
    edge: Q
    n_subvolumes: int
    volume: Q
    std: Optional[float]


class MicroRepresentativityResults(_Open):
    phase: str
    volume_fraction: Q
    integral_range: Q
    edge_for_target: Q
    target_relative_error: float
    subvolumes: list[MicroSubvolumes]


class MvaResults(_Open):
    method: str
    n_components: int
    outputs: dict[str, str]


class CapacityCycle(_Open):
    cycle: int
    coulombic_efficiency: Q


class OperandoResults(_Open):
    capacity: dict[str, Any]
    frames: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    dose: dict[str, Any]


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class OperandoReportResults(OperandoResults):
    """The report written (path, SHA-256, size, its sections and number of figures) and the analysis it
    shows, with the fields of ``operando.analyze``."""

    output: str
    sha256: Sha256
    format: Literal["html", "htm"]
    bytes: int = Field(ge=0)
    sections: list[str]
    figures: int = Field(ge=0)


class SampleInitResults(_Open):
    """The template written (path, SHA-256, size; all null and the template as ``text`` when printed
    with ``-``) and the fields it asks for."""

    output: Optional[str]
    sha256: Optional[Sha256]
    format: Literal["yaml"]
    bytes: int = Field(ge=0)
    fields: list[str]
    text: Optional[str] = None


class SampleExportResults(_Open):
    """The JSON-LD written (path, SHA-256, size; the ``document`` itself instead when not written to a
    file), the history files merged into it, the fields set and the number of properties exported."""

    output: Optional[str]
    sha256: Optional[Sha256]
    format: Literal["jsonld"]
    bytes: int = Field(ge=0)
    sources: list[str]
    fields: list[str]
    properties: int = Field(ge=0)
    document: Optional[dict[str, Any]] = None


class SpectrumPeak(_Open):
    mz: Q
    height: Q
    area: Q
    fwhm: Q
    resolving_power: Q
    snr: float


class CalibrationQuality(_Open):
    """Calibration quality: model, rms residual of the kept and of the exported calibration (ppm),
    reference ions used and rejected, and whether the file's own calibration was kept; ``lock_masses``
    labels the ions identified in the spectrum that were offered as further references."""

    model: str
    kept_exported: bool
    rms: Optional[Q]
    exported_rms: Optional[Q]
    n_used: int
    used: list[str]
    rejected: list[str]
    lock_masses: list[str] = []


class SpectrumPeaksResults(_Open):
    """``channels_per_bin``: the least and most channels summed into a bin where the spectrum was sampled
    far finer than its peaks and summed to its resolution before detection (None where it was not)."""

    n_peaks: int
    peaks: list[SpectrumPeak]
    calibration: Optional[CalibrationQuality]
    channels_per_bin: Optional[list[int]] = None


class CalibrationReference(_Open):
    ion: str
    mz_true: Q
    residual: Q
    used: bool


class WrittenFile(_Closed):
    """A file a command wrote: path, SHA-256, format (the suffix) and size."""

    output: str
    sha256: Sha256
    format: str
    bytes: int = Field(ge=0)


class SpectrumCalibrateResults(_Open):
    """The calibration kept (the refit or the file's own), its residuals and quality; with ``--out`` the
    recalibrated store written (``written``: path, SHA-256, format, bytes), else null."""

    model: str
    t0: Q
    k: Q
    rms: Optional[Q]
    exported_rms: Optional[Q]
    references: list[CalibrationReference]
    quality: CalibrationQuality
    written: Optional[WrittenFile] = None


class ElementRow(_Open):
    """One requested (or, in auto mode, detected) element: detected with intensity ± σ and evidence,
    or not detected with a 3σ upper limit; ``detected`` is null when the file could not be analysed or
    the element not tested (none of its ions in the spectrum's m/z range)."""

    element: str
    detected: Optional[bool]
    intensity: Optional[Q]
    upper_limit: Optional[Q]
    evidence: list[str]


class DetectionThreshold(_Closed):
    """The z the significance and contrast tests required: the one-sided Bonferroni threshold that keeps the
    false-report probability of ``tests`` tests at that of one 3σ test (0 tests: the z was given)."""

    z: float
    tests: int


class SpectrumIdentifyResults(_Open):
    """One spectrum file's identification; ``figures`` (with ``--plot``) and ``table`` (with ``--table``,
    the long table holding this file's rows) are the files written, null when not asked for."""

    file: str
    polarity: Optional[str]
    calibration: Optional[CalibrationQuality]
    species: list[dict[str, Any]]
    elements: list[ElementRow]
    error: Optional[str]
    detection_threshold: Optional[DetectionThreshold] = None
    figures: Optional[list[WrittenFile]] = None
    table: Optional[WrittenFile] = None


class SpectrumIdentifyEntry(_Closed):
    """One input file of a batch: its own inputs, results, warnings, uncertainty notes and provenance."""

    kind: str
    inputs: list[InputSchema]
    results: SpectrumIdentifyResults
    warnings: list[str]
    uncertainty_notes: UncertaintyNotes
    provenance: ProvenanceSchema


class TomoAlignResults(_Open):
    transform: str
    slices: int
    drift: Q
    rotation: Q
    output: str


class TomoCorrectResults(_Open):
    output: str
    tilt: Q
    spacing: Q
    shear_per_slice: Q


class TomoDestripeResults(_Open):
    output: str


class TomoSegmentResults(_Open):
    output: str
    phases: dict[str, int]
    volume_fraction: dict[str, Any]


class CorrelateImage(_Open):
    shape: list[int]
    pixel_size: Q
    origin: Q
    sha256: Optional[str]


class CorrelateRegisterResults(_Open):
    convention: str
    model: Literal["similarity", "affine", "depth-scaled"]
    matrix: list[list[float]]
    rotation: Q
    scale: Q
    moving_centre_in_fixed: Q
    metric: Q
    tre: Q
    tre_method: str
    fixed: CorrelateImage
    moving: CorrelateImage
    output: str


class MarkedInterface(_Open):
    upper: str
    lower: Optional[str]
    position: Q
    resolved: bool = True


class DepthPlotResults(_Open):
    output: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    format: Literal["svg", "png", "pdf"]
    species: list[str]
    axis: str
    axis_unit: str
    intensity_unit: str
    scale: Literal["log", "linear"]
    normalisation: Optional[str]
    interfaces: list[MarkedInterface]


class CorrelateOverlayResults(_Open):
    output: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    format: str
    colours: dict[str, str]
    alpha: float
    pixel_size: Q
    extent: Q
    shape: list[int]


class CorrelateLabel(_Open):
    value: int
    area: Optional[Q] = None
    volume: Optional[Q] = None
    species: Optional[dict[str, dict[str, Q]]] = None


class CorrelateTransferResults(_Open):
    labels: dict[str, CorrelateLabel]
    pixels_used: int
    tre: Q
class TomoTrainResults(_Open):
    output: str
    learner: str
    classes: list[str]
    labelled_voxels: dict[str, int]
    pixel_size: Optional[Q]
    final_loss: Q
    training_time: Q


class MicroGenerateResults(_Open):
    output: str
    method: str
    shape: list[int]
    spacing: Q
    phase_order: list[str]
    image: dict[str, Any]
    generated: dict[str, Any]
    difference: dict[str, Any]
    time: Q
class SampleCheckResults(_Open):
    valid: bool
    sources: list[str]
    sample: Optional[dict[str, Any]]
    tier: Literal["A", "B", "C", "D", "unknown"]
    reasons: list[ReasonSchema]


class CatalogEntrySchema(_Open):
    id: int
    kind: str
    tier: str
    material: Optional[str]
    sample: Optional[str]
    created: Optional[str]
    added: str
    inputs: list[Optional[str]]
    dedup_key: str = Field(pattern=r"^[0-9a-f]{64}$")


class CatalogDuplicate(_Closed):
    source: str
    id: int


class CatalogAddResults(_Open):
    catalog: str
    added: list[int]
    duplicates: list[CatalogDuplicate]


class CatalogListResults(_Open):
    entries: list[CatalogEntrySchema]
    count: int


class CatalogShowEntry(CatalogEntrySchema):
    document: dict[str, Any]


class CatalogShowResults(_Open):
    entry: CatalogShowEntry


class CatalogRemoveResults(_Open):
    removed: list[int]


class CatalogExportResults(_Open):
    format: Literal["csv", "parquet", "jsonld"]
    entries: int
    out: Optional[str]


#: Command (dotted, as in ``ionscope depth layers`` → ``depth.layers``) → model of its ``results``.
COMMANDS: dict[str, Any] = {
    "info": InfoResults,
    "formats": dict[str, FormatResults],
    "convert": ConvertResults,
    "depth.layers": DepthLayersResults,
    "depth.mri": DepthMriResults,
    "depth.cube": DepthCubeResults,
    "depth.plot": DepthPlotResults,
    "diffusion.fit": DiffusionFitResults,
    "diffusion.arrhenius": ArrheniusResults,
    "diffusion.haven": HavenResults,
    "diffusion.leclaire": LeClaireResults,
    "diffusion.map": DiffusionMapResults,
    "diffusion.fraction": DiffusionFractionResults,
    "diffusion.chemical": DiffusionChemicalResults,
    "diffusion.gb": DiffusionGbResults,
    "image.extract": ImageResults,
    "image.bin-events": ImageResults,
    "library.show": LibraryShowResults,
    "library.search": LibrarySearchResults,
    "library.validate": LibraryValidateResults,
    "micro.metrics": MicroMetricsResults,
    "micro.transport": MicroTransportResults,
    "micro.export": MicroExportResults,
    "micro.profile": MicroProfileResults,
    "micro.representativity": MicroRepresentativityResults,
    "mva.pca": MvaResults,
    "mva.nmf": MvaResults,
    "mva.mcr": MvaResults,
    "mva.cluster": MvaResults,
    "operando.analyze": OperandoResults,
    "operando.report": OperandoReportResults,
    "spectrum.peaks": SpectrumPeaksResults,
    "spectrum.calibrate": SpectrumCalibrateResults,
    "spectrum.identify": Union[SpectrumIdentifyResults, list[SpectrumIdentifyEntry]],
    "tomo.align": TomoAlignResults,
    "tomo.correct": TomoCorrectResults,
    "tomo.destripe": TomoDestripeResults,
    "tomo.segment": TomoSegmentResults,
    "correlate.register": CorrelateRegisterResults,
    "correlate.transfer": CorrelateTransferResults,
    "correlate.overlay": CorrelateOverlayResults,
    "tomo.train": TomoTrainResults,
    "micro.generate": MicroGenerateResults,
    "sample.check": SampleCheckResults,
    "sample.init": SampleInitResults,
    "sample.export": SampleExportResults,
    "catalog.add": CatalogAddResults,
    "catalog.list": CatalogListResults,
    "catalog.query": CatalogListResults,
    "catalog.show": CatalogShowResults,
    "catalog.remove": CatalogRemoveResults,
    "catalog.export": CatalogExportResults,
}


def envelope_model(kind: str) -> type[BaseModel]:
    """The pydantic model of the whole ``--json`` output of command ``kind``."""
    results = COMMANDS[kind]
    name = "".join(p.capitalize() for p in kind.replace("-", ".").split(".")) + "Envelope"
    return create_model(name, __base__=EnvelopeBase, __doc__=f"`ionscope {kind.replace('.', ' ')} --json` output.",
                        kind=(Literal[kind], ...), results=(results, ...))  # type: ignore[arg-type]  # run-time Literal


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of command ``kind``'s ``--json`` output; ``"error"`` for the error document."""
    model = ErrorDocument if kind == "error" else envelope_model(kind)
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://ionscope.dev/schemas/{SCHEMA_VERSION}/{kind}.json"
    return schema


def schema_files() -> dict[str, str]:
    """File name → text of every schema in ``docs/schemas/`` (one per command, plus ``error.json``)."""
    return {f"{kind}.json": json.dumps(json_schema(kind), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for kind in [*COMMANDS, "error"]}


def write_schemas(folder: str | Path) -> list[Path]:
    """Write :func:`schema_files` into ``folder``; remove schemas of commands that no longer exist."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = schema_files()
    for old in folder.glob("*.json"):
        if old.name not in files:
            old.unlink()
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - `make schemas`
    for p in write_schemas(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas"):
        print(p)
