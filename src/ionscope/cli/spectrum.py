"""``ionscope spectrum``: peaks, calibration and element identification of TOF-SIMS spectra."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from rich.table import Table

from ionscope.cli.common import console, emit_json, err_console, print_warnings, progress
from ionscope.cli.options import ForceOpt, JsonOpt, finite_at_least

NAME = "spectrum"
app = typer.Typer(help="TOF-SIMS spectra: peak tables, mass calibration, element identification.",
                  no_args_is_help=True)

#: auto, positive or negative: typer refuses any other value, naming these three (exit 2).
PolarityOpt = Annotated[Literal["auto", "positive", "negative"],
                        typer.Option("--polarity", help="auto: from the metadata or a P_/N_ file-name prefix.")]


#: ``--lock-elements`` of the commands that recalibrate without identifying (calibrate, peaks).
LockElementsOpt = Annotated[Optional[str], typer.Option(
    "--lock-elements", help="Also use as reference ions the ions of these elements (comma-separated symbols) that "
                            "identification finds at ≥ 5σ: the common ions all lie below m/z ~100 and cannot fix the "
                            "calibration's scale above it (Green, Gilmore & Seah, J. Am. Soc. Mass Spectrom. 2006, "
                            "doi:10.1016/j.jasms.2005.12.005). Default: auto, the elements auto mode finds, as "
                            "spectrum identify does with the elements it tests; none: the common ions only.")]


@app.command()
def peaks(
    file: Annotated[Path, typer.Argument(help="Spectrum file (e.g. IONTOF .txt export).")],
    polarity: PolarityOpt = "auto",
    min_snr: Annotated[float, typer.Option(
        callback=finite_at_least(0), help="Detection threshold: height over the Poisson σ of the baseline, a "
                                          "decision level in the sense of Currie (Anal. Chem. 40, 586, 1968, "
                                          "doi:10.1021/ac60259a007): 3 lets noise pass at 1.3·10⁻³ per channel; "
                                          "the S/N shown is height/√(height + baseline).")] = 3.0,
    recalibrate: Annotated[bool, typer.Option(help="Auto-recalibrate first.")] = True,
    lock_elements: LockElementsOpt = None,
    top: Annotated[int, typer.Option(min=0, help="Rows shown in the table (not in --json).")] = 30,
    json: JsonOpt = False,
) -> None:
    """Detect peaks: centroid, height, area, FWHM, m/Δm and S/N; name each by its likeliest ion.

    A peak is named by an ion of the elements identified for the calibration (--lock-elements) whose fitted
    counts explain at least half of it (¹⁰¹RuO₂⁻, not ¹³³Cs⁻, on a ruthenium oxide), else by a marker-library or
    C, H, N, O, Si, S molecular ion whose m/z agrees within 3σ of the calibration, else as an isotopologue of a
    stronger peak's ion; ions the peak cannot resolve are listed beside it."""
    from ionscope.spectra.pipeline import lock_elements_option, peaks_result, read_spectrum

    spec = read_spectrum(file, polarity)
    with progress("finding peaks", quiet=json):
        res = peaks_result(spec, min_snr=min_snr, recalibrate=recalibrate, source=file,
                           lock_elements=lock_elements_option(lock_elements, spec))
    if json:
        emit_json(res)
        return
    warnings = _wrong_polarity_first(res.warnings)
    table = Table("m/z", "height", "area", "FWHM", "m/Δm", "S/N", "likeliest ion (error ± σ, ppm)", box=None)
    rows = sorted(res["peaks"], key=lambda r: -r["height"].value)[:top]
    for r in sorted(rows, key=lambda r: r["mz"].value):
        table.add_row(f"{r['mz'].value:.4f}", f"{r['height'].value:.0f}", f"{r['area'].value:.0f}",
                      f"{r['fwhm'].value:.4f}", f"{r['resolving_power'].value:.0f}", f"{r['snr']:.1f}",
                      _ion_cell(r["ion"]))
    console.print(f"{res['n_peaks']} peaks in {file.name} (strongest {len(rows)} shown)")
    if res.get("channels_per_bin"):
        few, many = res["channels_per_bin"]
        console.print(f"the spectrum is sampled far finer than its peaks: they were found on bins of {few}–{many} "
                      "channels (half a peak σ, read from its autocorrelation); heights are per channel, S/N per "
                      "bin", highlight=False)
    if res["calibration"] is not None:
        q = res["calibration"]
        console.print(f"calibration: {q['model']}, {_calibration_kept(q)}, "
                      f"rms {_ppm(q['rms'])} ppm over {q['n_used']} reference ions "
                      f"({len(q['rejected'])} rejected)", highlight=False)
    console.print(table)
    print_warnings(warnings)


@app.command()
def calibrate(
    file: Annotated[Path, typer.Argument(help="Spectrum file with a channel axis.")],
    polarity: PolarityOpt = "auto",
    model: Annotated[str, typer.Option(help="sqrt | sqrt-quadratic")] = "sqrt",
    reference: Annotated[Optional[list[str]], typer.Option("--reference", "-r",
                                                           help="Reference ion as a formula with its charge "
                                                                "(repeatable, e.g. -r Na+ -r C3H5+): only these, "
                                                                "and lock masses only with --lock-elements; "
                                                                "default: common ions of the polarity.")] = None,
    lock_elements: LockElementsOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the recalibrated spectrum (.zarr).")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Recalibrate m/z from reference ions; report parameters and residuals in ppm."""
    from ionscope.spectra.pipeline import calibration_result, lock_elements_option, read_spectrum

    _check_references(reference or [])

    if out is not None:
        from ionscope.io.registry import check_output

        check_output(out, force=force)
    spec = read_spectrum(file, polarity)
    with progress("calibrating", quiet=json):
        res = calibration_result(spec, model=model, references=reference, source=file, out=out, force=force,
                                 lock_elements=lock_elements_option(lock_elements or ("none" if reference else None),
                                                                    spec))
    if json:
        emit_json(res)
        return
    q = res["quality"]
    warnings = _wrong_polarity_first(res.warnings)
    how = "the file's own calibration kept" if q["kept_exported"] else "recalibrated"
    if q["kept_exported"] and model != res["model"]:
        how += f" (the {model} refit did not beat it)"
    console.print(f"[bold]{file.name}[/bold]: {how}: model {res['model']}, t0 = {res['t0']}, k = {res['k']}")
    table = Table("ion", "m/z", "residual (ppm)", "used", box=None)
    for r in sorted(res["references"], key=lambda r: r["mz_true"].value):
        table.add_row(r["ion"], f"{r['mz_true'].value:.4f}", f"{r['residual'].value:+.0f}",
                      "yes" if r["used"] else "no")
    console.print(table)
    bins = q["rms_bins"].value if q["rms_bins"] else float("nan")
    console.print(f"{how}: rms residual {_ppm(res['rms'])} ppm ({bins:.2f} bin; exported "
                  f"calibration {_ppm(res['exported_rms'])} ppm), {q['n_used']} reference peaks used"
                  f"{_identified_note(q)}, {len(q['rejected'])} rejected", highlight=False)
    print_warnings(warnings)
    if out is not None:
        err_console.print(f"wrote {out}")


@app.command()
def identify(
    paths: Annotated[list[Path], typer.Argument(help="Spectrum files and/or folders (a folder means its .txt "
                                                     "spectrum exports and .npz archives of counts and mz).")],
    elements: Annotated[str, typer.Option(help=(
        "Comma-separated symbols (e.g. Ru,Rh,Pd,Ir,Pt): each gets a row, detected or not with a 3σ upper "
        "limit. 'auto': screens every element with ≥ 3 isotopes above 5 % (~30, by their isotope patterns), "
        "then, where chlorine is seen, the chloride-forming metals by their chloro-complex ions, then Rh and "
        "Ir; reports those found. Named elements are fitted together with the other elements that screening "
        "finds (not reported), so leaving out an element that is there does not bias the named ones; the "
        "elements detected are fitted once more without the named ones not detected, so naming an element "
        "that is not there does not lower the others."))] = "auto",
    polarity: PolarityOpt = "auto",
    recalibrate: Annotated[bool, typer.Option(help="Recalibrate from common ions (kept only if better than "
                                                   "the file's own calibration).")] = True,
    table_out: Annotated[Optional[Path], typer.Option("--table", help="Write a long CSV table: one row per "
                                                                      "file and element.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Folder for one figure per file and element "
                                                                "(counts, fitted pattern, background).")] = None,
    chlorides: Annotated[Optional[bool], typer.Option(
        "--chlorides/--no-chlorides", help="Fit chloride and oxychloride ions (MCl₂⁻, MOCl⁻ …) of the chloride-"
                                           "forming elements (soft and borderline acids: Pearson, J. Am. Chem. "
                                           "Soc. 85, 3533, 1963, doi:10.1021/ja00905a001) as forms of "
                                           "them; default: where ³⁵Cl/³⁷Cl is seen, in named mode and in auto "
                                           "mode's later stages (not in its screening).")] = None,
    primary_ion: Annotated[Optional[str], typer.Option(
        "--primary-ion", help="Primary ion (e.g. Bi3+): its atomic, cluster and oxide ions are fitted as "
                              "nuisance, never reported; default: from the metadata or a Bi1/Bi3/Au3 file-name "
                              "tag.")] = None,
    named_only: Annotated[bool, typer.Option(
        "--named-only", help="With named --elements: fit only those (no auto screening for the other "
                             "elements of the spectrum; faster, but the ions of elements left out then sit in "
                             "the named ones' windows and backgrounds: intensities biased, detections missed "
                             "or made).")] = False,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", min=1, help="Worker processes of a batch (default: one per core available). Each costs a "
                                 "start of ≈ 2 s, so a batch uses only as many as it has files to keep busy "
                                 "(none for a few files); the results do not depend on it.")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Which elements are present: isotope patterns over a local background, NNLS decomposition of overlaps.

    Every requested element gets a row: detected (intensity ± σ, the sum of the ions that pass, listed as
    evidence) or not detected with a 3σ upper limit of one ion (its atomic ion where in range; the JSON and
    the table name it). Columns: z, the fitted intensity over its 1σ; zc, its contrast over the local
    background (σ). A folder or several files run as a batch; a file that fails is reported in its rows,
    the others go on, and the command ends with exit code 2 once every output is written.
    """
    from ionscope.spectra.pipeline import (
        check_primary_ion,
        identify_batch,
        identify_file,
        parse_elements,
        spectrum_files,
    )

    els = parse_elements(elements)
    check_primary_ion(primary_ion, "--primary-ion")
    skipped: list[tuple[Path, str]] = []
    files = spectrum_files(paths, skipped)
    skipped_note = [f"left out, {why}: {', '.join(q.name for q, w in skipped if w == why)}"
                    for why in dict.fromkeys(w for _, w in skipped)]
    _check_identify_outputs(files, table_out, plot, force)
    pol = None if polarity == "auto" else polarity
    given: dict[str, Any] = {k: v for k, v in (("chlorides", chlorides), ("primary_ion", primary_ion))
                             if v is not None}
    if named_only:
        if els == "auto":
            from ionscope.model.errors import ValidationError

            raise ValidationError("--named-only needs named --elements (it turns off the screening of the elements "
                                  "not named)")
        given["screen_unnamed"] = False
    with progress("identifying elements", total=len(files), quiet=json) as task:
        if len(files) == 1:  # a single file's failure is the command's error (one line, exit 2)
            results = [identify_file(files[0], elements=els, polarity=pol, recalibrate=recalibrate, plot=plot,
                                     force=force, **given)]
        else:
            results = list(identify_batch(files, elements=els, polarity=pol, recalibrate=recalibrate,
                                          on_file=lambda _p: task.advance(1), plot=plot, force=force,
                                          workers=workers, on_workers=_named_by_workers(task), **given))
    if table_out is not None:
        results = _write_table(results, table_out, force)
    if json:
        if len(paths) == 1 and len(results) == 1 and files[0] == paths[0]:
            emit_json(results[0])
        else:  # a batch: one entry per input file in the envelope's results
            emit_json(results, warnings=skipped_note + [f"{Path(r['file']).name}: {r['error']}" for r in results
                                                         if r["error"]])
    else:
        shared = _shared_warnings(results)
        names = [Path(r["file"]).name for r in results]
        for res in results:
            _print_identification(res, batch=len(results) > 1, shared=frozenset(shared),
                                  whole_path=names.count(Path(res["file"]).name) > 1)
        print_warnings([f"every file: {w}" for w in shared] + skipped_note)
        if any(res["error"] is None for res in results):
            _print_columns_note()
        if plot is not None:
            n = sum(len(r["figures"] or ()) for r in results)
            err_console.print(f"wrote {n} figure{'s' * (n != 1)} to {plot}")
        if table_out is not None:
            err_console.print(f"wrote {table_out}")
    _exit_if_any_failed(results)


def _named_by_workers(task):
    """A callback that names the progress bar's stage after the worker processes of a batch (their start takes a
    few seconds before the first file is done)."""
    def name(n: int) -> None:
        if n > 1:
            task.update(description=f"identifying elements ({n} worker processes)")
    return name


def _write_table(results: list, table_out: Path, force: bool) -> list:
    """Write the long table of ``results`` (atomically) and record it (path, SHA-256, size) in each."""
    from ionscope.io.atomic import write_text
    from ionscope.model.provenance import written_file
    from ionscope.model.result import Result
    from ionscope.spectra.pipeline import long_table

    write_text(table_out, long_table(results).to_csv(index=False, float_format="%.6g"), force=force)
    record = written_file(table_out)
    return [Result(r.kind, {**r.values, "table": record}, r.warnings, r.provenance) for r in results]


def _exit_if_any_failed(results) -> None:
    """A batch in which some file could not be analysed ends with exit code 2 once every output is written,
    and says which files on stderr, so that scripts notice."""
    failed = [Path(r["file"]).name for r in results if r["error"] is not None]
    if failed:
        err_console.print(f"[red]error:[/red] {len(failed)} of {len(results)} files not analysed "
                          f"({', '.join(failed)}); their rows say why", highlight=False)
        raise typer.Exit(2)


def _check_identify_outputs(files: list[Path], table_out: Path | None, plot: Path | None, force: bool) -> None:
    """Refuse, before any spectrum is read, a --table or --plot output that exists (without --force) or
    cannot be written."""
    from ionscope.cli.common import check_output_file, check_output_folder

    if table_out is not None:
        check_output_file(table_out, force, (".csv",), option="--table")
    if plot is not None:
        from ionscope.spectra.plots import existing_figures

        check_output_folder(plot, force, existing_figures(plot, files), option="--plot")


def _calibration_kept(cal) -> str:
    """Which calibration a spectrum result kept, in the words of the ``--table`` ``calibration`` column; a refit
    says how far off the file's own was at the same peaks."""
    if cal["kept_exported"]:
        return "exported (the file's own) kept"
    exported = cal.get("exported_rms_bins")
    return "refit" + (f" (the file's own: {exported.value:.2f} bin rms)" if exported is not None else "")


def _ppm(q) -> str:
    """An rms quantity (ppm) for text, or ``nan`` when there is none."""
    return f"{q.value:.0f}" if q is not None else "nan"


def _identified_note(quality: dict) -> str:
    """`` (N of them peaks of M ions identified here)`` when lock masses are among the references used,
    else empty."""
    from ionscope.spectra.lockmass import lock_peaks_used

    peaks, ions = lock_peaks_used(quality["used"], quality.get("lock_masses") or ())
    if not peaks:
        return ""
    return f" ({peaks} of them peaks of {ions} ion{'s' if ions > 1 else ''} identified here)"


def _print_identification(res, batch: bool = False, shared: frozenset[str] = frozenset(),
                          whole_path: bool = False) -> None:
    """One file's rows and calibration; its warnings, less the ``shared`` ones printed once for the batch.
    The file is named by its name, or (``whole_path``: another file of the batch has the same name) by its
    path as given."""
    from ionscope.model.text import pretty_ion

    name = str(res["file"]) if whole_path else Path(res["file"]).name
    if res["error"] is not None:
        console.print(f"[bold]{name}[/bold]: [red]not analysed[/red] — {res['error']}", highlight=False)
        return
    cal = res["calibration"]
    detected = [r["element"] for r in res["elements"] if r["detected"]]
    console.print(f"[bold]{name}[/bold] ({res['polarity']}): detected " + (", ".join(detected) or "none"))
    own = _wrong_polarity_first([f"{name}: {w}" if batch else w for w in res.warnings if w not in shared])
    if cal is not None:
        bins = f" ({cal['rms_bins'].value:.2f} bin)" if cal.get("rms_bins") else ""
        console.print(f"  calibration: {cal['model']}, {_calibration_kept(cal)}, rms {_ppm(cal['rms'])} ppm{bins}, "
                      f"{cal['n_used']} reference peaks used{_identified_note(cal)}, {len(cal['rejected'])} rejected",
                      highlight=False)
    else:
        console.print("  calibration: m/z as exported, not checked", highlight=False)
    primary = (res.provenance.get("parameters") or {}).get("primary_ion")
    if primary:
        console.print(f"  primary ion: {pretty_ion(primary)} (its ions fitted as nuisance, never reported)",
                      highlight=False)
    threshold = res.get("detection_threshold")
    if threshold:
        light = any(r["detected"] and (r["contrast"] or 0.0) < threshold["z"] for r in res["elements"])
        console.print(f"  {_threshold_note(threshold, auto=res['screened'] is not None, light=light)}",
                      highlight=False)
    table = Table("element", "found", "counts", "3σ limit", "z", "zc", "evidence / failed test", box=None)
    for r in res["elements"]:
        q, ul = r["intensity"], r["upper_limit"]
        why = (", ".join(pretty_ion(f) for f in r["evidence"]) if r["detected"]
               else ", ".join(r.get("not_detected_because") or []))
        table.add_row(r["element"], {True: "yes", False: "no", None: "untested"}[r["detected"]],
                      f"{q.value:.0f} ± {q.uncertainty:.0f}" if q else "",
                      f"< {ul.value:.0f} {pretty_ion(r['upper_limit_form'])}" if ul else "",
                      _z(r["significance"]), _z(r["contrast"]),
                      why if r["detected"] else f"[dim]{why}[/dim]")
    console.print(table)
    print_warnings(own)


def _ion_cell(ion: dict | None) -> str:
    """A peak's likeliest ion, its error ± σ (ppm; "?" where they disagree beyond 3σ) and the ions it is not
    resolved from."""
    if not ion:
        return ""
    from ionscope.model.text import pretty_ion

    others = f" (or {', '.join(pretty_ion(f) for f in ion['unresolved_with'])})" if ion["unresolved_with"] else ""
    error = f"{ion['error'].value:+.0f} ± {ion['error'].uncertainty:.0f}" + ("" if ion.get("mass_agrees", True)
                                                                           else " ?")
    return f"{pretty_ion(ion['formula'])} {error}{others}"


def _wrong_polarity_first(warnings: Sequence[str]) -> list[str]:
    """Prints the warning that the spectrum looks of the other polarity, which puts every result below it in
    doubt, before them; returns the other warnings, for after."""
    from ionscope.spectra.pipeline import POLARITY_WARNING

    print_warnings([w for w in warnings if POLARITY_WARNING in w])
    return [w for w in warnings if POLARITY_WARNING not in w]


def _z(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _check_references(references: list[str]) -> None:
    """Each ``--reference`` parses as an ion formula, or a usage error naming it (a bare m/z is the common slip)."""
    from ionscope.library.formula import FormulaError, parse_formula
    from ionscope.model.errors import ValidationError

    for i, text in enumerate(references):
        try:
            parse_formula(text)
        except FormulaError as exc:
            raise ValidationError(f"--reference {text!r}: not an ion formula ({exc}); give the ion with its charge, "
                             "e.g. -r Na+ -r C3H5+") from None
        if text in references[:i]:
            raise ValidationError(f"--reference {text!r} is given twice: each reference ion once")


def _shared_warnings(results) -> list[str]:
    """Warnings every analysed file of a batch carries (the auto-mode caveat …): printed once, not per file."""
    done = [r for r in results if r["error"] is None]
    if len(done) < 2:
        return []
    return [w for w in done[0].warnings if all(w in r.warnings for r in done[1:])]


def _threshold_note(threshold: dict, auto: bool, light: bool = False) -> str:
    """The z the significance and contrast tests required, and why that z; with ``light``, that ions at masses
    no molecular ion can have (a detected row's zc under it) need no contrast."""
    z, n = threshold["z"], threshold["tests"]
    exempt = ("; ions at masses no molecular ion can have (m/z 4–11, 20–23: Li⁺, B⁺, Na⁺) or resolved from every "
              "molecular ion of theirs need z only" if light else "")
    if not n:
        return f"detected where z and zc ≥ {z:.2f} (as given{exempt})"
    family = (f"the {n} tests auto mode's stages can make" if auto else
              f"the {n} ions tested of the elements named; naming fewer elements lowers it")
    return f"detected where z and zc ≥ {z:.2f} (Bonferroni: a 3σ false-report probability over {family}{exempt})"


def _print_columns_note() -> None:
    """What the z and zc columns and 'detected' mean: once, after every file's table."""
    console.print("  z: a form's fitted intensity over its 1σ (background alone can make it large); zc: its "
                  "contrast over the local background (σ) — the largest over the forms counted, or, for a row not "
                  "detected, those of its form of largest contrast. Detected: the isotope pattern fits and its "
                  "contrast passes the family-wise 3σ test (Bonferroni over the species tested; not for ions at "
                  "masses no molecular ion can have, m/z 4–11 and 20–23, nor for ions the spectrum resolves from "
                  "every molecular ion of their nominal mass); the counts then sum every form that passes at 3σ on"
                  " its own (an ion of two named elements, Li₂F⁺ or PF₆⁻, in both rows); a row not detected names "
                  "the tests its form of largest contrast fails (significance, pattern, contrast, mass offset; in "
                  "auto mode also not confirmed when the elements found are fitted alone, or atomic ion when a "
                  "metal's oxide ion stands over an empty atomic-ion window), and its limit is on the ion named "
                  "(the atomic ion where in range; a warning names a form fitted with more; --json lists every "
                  "form's fitted counts)",
                  highlight=False, style="dim")
