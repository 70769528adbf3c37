"""``ionscope operando``: operando TOF-SIMS series against a cycling log.

SERIES is a Zarr store of an operando array (state, y, x, peak) with ``time_start``/``time_end``
(s) along ``state``, or a folder with ``frames.csv`` (``file, time_start_s, time_end_s``) and one
ion-image file per state; see :mod:`ionscope.io.operando_series`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ionscope.cli.common import emit_json, print_warnings, progress
from ionscope.cli.options import ForceOpt, JsonOpt, deprecated_spelling, renamed
from ionscope.model.errors import ValidationError

NAME = "operando"
app = typer.Typer(help="Operando TOF-SIMS: cycling logs, drift registration, per-region tracking, dose.",
                  no_args_is_help=True)

SeriesArg = Annotated[Path, typer.Argument(help="Zarr store of an operando series, or a folder with frames.csv.")]
CyclingOpt = Annotated[Path, typer.Option("--cycling", help="Cycling log: BioLogic .mpt or CSV/TSV.")]
RegionsOpt = Annotated[Optional[Path], typer.Option("--regions", help="Label image (.npy, TIFF, Zarr) on the "
                                                    "series grid; default: segment the pristine frame.")]
SpeciesOpt = Annotated[Optional[list[str]], typer.Option("--species",
                                                         help="Species to track: comma-separated and/or repeated "
                                                              "(e.g. '^58Ni+,^48Ti+'; default all).")]
ColumnOpt = Annotated[Optional[list[str]], typer.Option("--column", help="Log column ROLE=NAME (time, voltage, "
                                                        "current, capacity, cycle, step); repeatable.")]
PrimaryCurrentPaOpt = Annotated[Optional[str], deprecated_spelling("--primary-current-pa", "--primary-current")]
PrimaryCurrentOpt = Annotated[Optional[str], typer.Option(
    "--primary-current", help="Mean primary current if not in the metadata, with a unit or "
                                                      "in pA (e.g. '1.2pA').")]
AreaOpt = Annotated[Optional[str], typer.Option("--area", help="Electrode area for areal values, with a unit or "
                                                              "in cm² (e.g. '0.2cm^2').")]
AreaOldOpt = Annotated[Optional[float], deprecated_spelling("--area-cm2", "--area")]
NormalisationOpt = Annotated[str, typer.Option("--normalisation", help="none, total, first or reference:<species>.")]
NormaliseOldOpt = Annotated[Optional[str], deprecated_spelling("--normalise", "--normalisation")]
UnitOpt = Annotated[Optional[list[str]], typer.Option("--unit",
                                                      help="Log unit ROLE=UNIT, e.g. current=mA; repeatable.")]


def _species_list(items: list[str] | None) -> list[str] | None:
    """``--species`` values, each comma-separated (ion names hold no commas); None when none given."""
    out = [name.strip() for item in items or [] for name in item.split(",") if name.strip()]
    return out or None


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"{what} {item!r} is not ROLE=VALUE")
        out[key.strip()] = value.strip()
    return out


def _area(area: str | None, area_cm2: float | None) -> float | None:
    """Electrode area in cm² from --area (or its old spelling --area-cm2, a number in cm²)."""
    from ionscope.cli.common import quantity_option

    area = renamed(area, None if area_cm2 is None else repr(area_cm2), old="--area-cm2", new="--area")
    q = quantity_option(area, "--area", "cm^2", positive=True)
    return None if q is None else q.value


def _normalisation(normalisation: str, normalise: str | None) -> str:
    """--normalisation, or its old spelling --normalise (with a deprecation warning)."""
    return renamed(normalisation, normalise, old="--normalise", new="--normalisation", default="none")


def _run(series: Path, cycling: Path, regions: Path | None, species: list[str] | None, column: list[str] | None,
         unit: list[str] | None, current_sign: float, area_cm2: float | None, normalise: str,
         registration_channel: str, register: bool, segment_species: str | None,
         primary_current: str | None, cycle: int, quiet: bool):
    from ionscope.cli.common import quantity_option
    from ionscope.io.cycling import read_cycling
    from ionscope.io.operando_series import load_labels, load_series
    from ionscope.operando.analysis import analyze_operando

    species = _species_list(species)
    q = quantity_option(primary_current, "--primary-current", "pA", positive=True)
    current = None if q is None else q.value
    with progress("operando: reading the series and the cycling log", quiet=quiet):
        log = read_cycling(cycling, columns=_pairs(column, "--column") or None, units=_pairs(unit, "--unit") or None,
                           current_sign=current_sign)
        data = load_series(series)
        labels = load_labels(regions) if regions is not None else None
    with progress("operando: registration, regions and tracking", quiet=quiet):
        inputs = [series, cycling] + ([regions] if regions is not None else [])
        return analyze_operando(data, log, labels=labels, species=species, register=register,
                                registration_channel=registration_channel, segment_species=segment_species,
                                normalisation=None if normalise == "none" else normalise, area_cm2=area_cm2,
                                cycle=cycle, primary_current_pA=current, inputs=inputs)


@app.command()
def analyze(
    series: SeriesArg,
    cycling: CyclingOpt,
    regions: RegionsOpt = None,
    species: SpeciesOpt = None,
    column: ColumnOpt = None,
    unit: UnitOpt = None,
    current_sign: Annotated[float, typer.Option(help="-1 if the log records charge as negative current.")] = 1.0,
    area: AreaOpt = None,
    normalisation: NormalisationOpt = "none",
    registration_channel: Annotated[str, typer.Option(help="'total' or a stable species.")] = "total",
    register: Annotated[bool, typer.Option("--register/--no-register", help="Correct drift.")] = True,
    segment_species: Annotated[Optional[str], typer.Option(help="Species to segment regions from.")] = None,
    primary_current_pa: PrimaryCurrentOpt = None,
    cycle: Annotated[int, typer.Option(help="Cycle whose charged/discharged states define reversibility.")] = 1,
    json: JsonOpt = False,
    primary_current_old: PrimaryCurrentPaOpt = None,
    area_cm2: AreaOldOpt = None,
    normalise: NormaliseOldOpt = None,
) -> None:
    """Capacity, per-region reversibility and classes, and dose of an operando SERIES."""
    res = _run(series, cycling, regions, species, column, unit, current_sign, _area(area, area_cm2),
               _normalisation(normalisation, normalise),
               registration_channel, register, segment_species,
               renamed(primary_current_pa, primary_current_old, old="--primary-current-pa", new="--primary-current"),
               cycle, json)
    if json:
        from ionscope.operando.result import operando_result

        emit_json(operando_result(res))
        return
    from rich.table import Table

    from ionscope.cli.common import console
    from ionscope.model.text import format_measurement, pretty_ion

    v = res.result.values
    t = Table("cycle", "charge (µAh)", "discharge (µAh)", "CE", "irreversible", title="capacity")
    for c in v["capacity"]["cycles"]:
        t.add_row(str(c["cycle"]), f"{c['charge_uAh'].value:.4g}", f"{c['discharge_uAh'].value:.4g}",
                  f"{c['coulombic_efficiency'].value:.3f}", f"{c['irreversible_fraction'].value:.1%}")
    console.print(t)
    t = Table("region", "area (µm²)", "indicator", "response", "recovery R", "class", title="regions")
    for r in v["regions"]:
        t.add_row(str(r["id"]), f"{r['area_um2']:.1f}", pretty_ion(r["species"]), f"{r['response']:+.3f}",
                  format_measurement(r["reversibility"], r["reversibility_sigma"]), r["class"])
    console.print(t)
    d = v["dose"]
    if d["total_ions_per_cm2"] is not None:
        console.print(f"dose: {d['total_ions_per_cm2']:.3g} ions/cm²; static limit exceeded: "
                      f"{'yes' if d['static_limit_exceeded'] else 'no'}")
    print_warnings(res.result.warnings)


@app.command()
def report(
    series: SeriesArg,
    cycling: CyclingOpt,
    out: Annotated[Path, typer.Option("--out", help="HTML report to write (.html or .htm).")],
    regions: RegionsOpt = None,
    species: SpeciesOpt = None,
    column: ColumnOpt = None,
    unit: UnitOpt = None,
    current_sign: Annotated[float, typer.Option(help="-1 if the log records charge as negative current.")] = 1.0,
    area: AreaOpt = None,
    normalisation: NormalisationOpt = "none",
    registration_channel: Annotated[str, typer.Option(help="'total' or a stable species.")] = "total",
    segment_species: Annotated[Optional[str], typer.Option(help="Species to segment regions from.")] = None,
    primary_current_pa: PrimaryCurrentOpt = None,
    cycle: Annotated[int, typer.Option(help="Cycle defining reversibility.")] = 1,
    force: ForceOpt = False,
    json: JsonOpt = False,
    primary_current_old: PrimaryCurrentPaOpt = None,
    area_cm2: AreaOldOpt = None,
    normalise: NormaliseOldOpt = None,
) -> None:
    """Write an HTML report: state panels, voltage curve, trajectories, reversibility map, tables.

    With --json, print what was written (path, SHA-256, size, figures) and the analysis shown in it
    (the results of `operando analyze`).
    """
    from ionscope.cli.common import check_output_file, current_reliability
    from ionscope.operando.figures import fill_section
    from ionscope.report.html import Report

    check_output_file(out, force, (".html", ".htm"))
    res = _run(series, cycling, regions, species, column, unit, current_sign, _area(area, area_cm2),
               _normalisation(normalisation, normalise),
               registration_channel, True, segment_species,
               renamed(primary_current_pa, primary_current_old, old="--primary-current-pa", new="--primary-current"),
               cycle, json)
    rep = Report(f"Operando TOF-SIMS: {series.name}", f"cycling log {cycling.name}")
    rep.set_reliability(current_reliability())
    with progress("report: figures", quiet=json):
        fill_section(rep.section("Operando analysis"), res, species=species)
    _summary_keys(rep, res.result.values)
    rep.record(res.result.provenance)
    rep.save(out, force=force)
    result = _report_result(res, out, rep)  # built in text mode too: --catalog stores it
    if json:
        emit_json(result)
        return
    from ionscope.cli.common import console

    console.print(f"wrote {out}", highlight=False)
    print_warnings(result.warnings)


def _report_result(res, out: Path, rep) -> Any:
    """What `operando report` wrote (path, SHA-256, size, sections and figures) and the analysis it shows,
    with the quantities of `operando analyze`."""
    from ionscope.cli.common import file_written
    from ionscope.model.result import Result
    from ionscope.operando.result import operando_result

    shown = operando_result(res)
    figures = sum(block.startswith("<figure>") for section in rep.sections for block in section.blocks)
    values = {**file_written(out), "sections": [section.title for section in rep.sections], "figures": figures,
              **shown.values}
    return Result("operando.report", values, shown.warnings, shown.provenance, res.result.flags)


def _summary_keys(rep, values) -> None:
    """Key numbers of an operando analysis for the report's summary."""
    from collections import Counter

    for c in values["capacity"]["cycles"]:
        rep.key(f"cycle {c['cycle']}: charge / discharge capacity", None,
                text=f"{c['charge_uAh'].value:.3g} / {c['discharge_uAh'].value:.3g} µAh")
        rep.key(f"cycle {c['cycle']}: Coulombic efficiency", c["coulombic_efficiency"])
    classes = Counter(r["class"] for r in values["regions"])
    rep.key("regions by class", None, text=", ".join(f"{n} {k}" for k, n in sorted(classes.items())))
    dose = values["dose"].get("total_ions_per_cm2")
    rep.key("primary-ion dose", dose, None, "ions/cm^2", note="" if dose is not None else "current not known",
            text="" if dose is not None else "not computed")
