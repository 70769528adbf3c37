"""``ionscope spectrum``: peaks, calibration and element identification of TOF-SIMS spectra."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ionscope.cli.common import console, emit_json, err_console, print_warnings, progress

NAME = "spectrum"
app = typer.Typer(help="TOF-SIMS spectra: peak tables, mass calibration, element identification.",
                  no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON object.")]
PolarityOpt = Annotated[str, typer.Option("--polarity", help="auto (metadata or P_/N_ file name) | positive | "
                                                             "negative")]


@app.command()
def peaks(
    file: Annotated[Path, typer.Argument(help="Spectrum file (e.g. IONTOF .txt export).")],
    polarity: PolarityOpt = "auto",
    min_snr: Annotated[float, typer.Option(help="Minimum S/N (Poisson σ of the baseline).")] = 3.0,
    recalibrate: Annotated[bool, typer.Option(help="Auto-recalibrate first.")] = True,
    top: Annotated[int, typer.Option(help="Rows shown in the table (not in --json).")] = 30,
    json: JsonOpt = False,
) -> None:
    """Detect peaks: centroid, height, area, FWHM, m/Δm and S/N."""
    from ionscope.spectra.pipeline import peaks_result, read_spectrum

    with progress("finding peaks", quiet=json):
        res = peaks_result(read_spectrum(file, polarity), min_snr=min_snr, recalibrate=recalibrate, source=file)
    if json:
        emit_json(res)
        return
    table = Table("m/z", "height", "area", "FWHM", "m/Δm", "S/N", box=None)
    rows = sorted(res["peaks"], key=lambda r: -r["height"])[:top]
    for r in sorted(rows, key=lambda r: r["mz"]):
        table.add_row(f"{r['mz']:.4f}", f"{r['height']:.0f}", f"{r['area']:.0f}", f"{r['fwhm']:.4f}",
                      f"{r['resolving_power']:.0f}", f"{r['snr']:.1f}")
    console.print(f"{res['n_peaks']} peaks in {file.name} (strongest {len(rows)} shown)")
    console.print(table)
    print_warnings(res.warnings)


@app.command()
def calibrate(
    file: Annotated[Path, typer.Argument(help="Spectrum file with a channel axis.")],
    polarity: PolarityOpt = "auto",
    model: Annotated[str, typer.Option(help="sqrt | sqrt-quadratic")] = "sqrt",
    reference: Annotated[Optional[list[str]], typer.Option("--reference", "-r",
                                                           help="Reference ion (repeatable); default: "
                                                                "common ions of the polarity.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the recalibrated spectrum (.zarr).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    json: JsonOpt = False,
) -> None:
    """Recalibrate m/z from reference ions; report parameters and residuals in ppm."""
    import ionscope
    from ionscope.io.atomic import check_writable
    from ionscope.spectra.calibration import apply_calibration
    from ionscope.spectra.pipeline import calibration_result, read_spectrum

    if out is not None:
        check_writable(out, force)
    spec = read_spectrum(file, polarity)
    with progress("calibrating", quiet=json):
        res, cal = calibration_result(spec, model=model, references=reference, source=file)
    if out is not None:
        ionscope.write(apply_calibration(spec, cal), out, force=force)
    if json:
        emit_json(res)
        return
    console.print(f"[bold]{file.name}[/bold]: model {res['model']}, t0 = {res['t0']}, k = {res['k']}")
    table = Table("ion", "m/z", "residual (ppm)", "used", box=None)
    for r in res["references"]:
        table.add_row(r["ion"], f"{r['mz_true']:.4f}", f"{r['residual_ppm']:+.0f}", "yes" if r["used"] else "no")
    console.print(table)
    exported = res["exported_rms_ppm"]
    console.print(f"rms residual {res['rms_ppm']:.0f} ppm"
                  + (f" (exported calibration: {exported:.0f} ppm)" if exported is not None else ""))
    print_warnings(res.warnings)
    if out is not None:
        err_console.print(f"wrote {out}")


@app.command()
def identify(
    file: Annotated[Path, typer.Argument(help="Spectrum file.")],
    elements: Annotated[str, typer.Option(help="auto | comma-separated symbols, e.g. Ru,Pt,Pd")] = "auto",
    polarity: PolarityOpt = "auto",
    recalibrate: Annotated[bool, typer.Option(help="Auto-recalibrate first.")] = True,
    json: JsonOpt = False,
) -> None:
    """Which multi-isotope elements are present (isotope patterns, NNLS decomposition of overlaps)."""
    from ionscope.spectra.pipeline import identify_result, read_spectrum

    els = "auto" if elements.strip().lower() == "auto" else [e.strip() for e in elements.split(",") if e.strip()]
    with progress("identifying elements", quiet=json):
        res = identify_result(read_spectrum(file, polarity), elements=els, recalibrate=recalibrate, source=file)
    if json:
        emit_json(res)
        return
    table = Table("species", "m/z", "intensity (counts)", "score", "significance (σ)",
                  "contrast (σ)", box=None)
    for s in res["species"]:
        table.add_row(s["formula"], f"{s['mz']:.3f}", f"{s['intensity']:.0f} ± {s['uncertainty']:.0f}",
                      f"{s['score']:.3f}", f"{s['significance']:.1f}", f"{s['contrast']:.1f}")
    console.print(f"[bold]{file.name}[/bold] ({res['polarity']}): elements "
                  + (", ".join(f"{e} ({v['relative']:.2f})" for e, v in res["elements"].items()) or "none"))
    console.print(table)
    print_warnings(res.warnings)
