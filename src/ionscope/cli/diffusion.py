"""``ionscope diffusion``: fit isotope-exchange profiles, Arrhenius plots, Haven ratios, Le Claire analysis."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional, overload

import typer
from rich.table import Table

from ionscope.cli.common import console, emit_json, print_warnings, progress, quantity_option, show
from ionscope.cli.options import ForceOpt, JsonOpt, deprecated_spelling, renamed
from ionscope.model.errors import ValidationError

NAME = "diffusion"
app = typer.Typer(help="Isotope-exchange diffusion: D*, surface exchange k, grain boundaries, Arrhenius, Haven ratio.",
                  no_args_is_help=True)

TimeOpt = Annotated[str, typer.Option("--time", help="Anneal time with its unit ('24h', '59 h', '3600s'); D scales "
                                                    "with 1/t, so a bare number is refused.")]
IsoOpt = Annotated[Optional[str], typer.Option("--isotopes", help="Tracer and other isotope columns/peaks, "
                                                                  "e.g. Li6,Li7.")]


@overload
def _isotopes(text: str) -> tuple[str, str]: ...


@overload
def _isotopes(text: None) -> None: ...


def _isotopes(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != 2:
        raise ValidationError(f"--isotopes needs two names separated by a comma (tracer,other), got {text!r}")
    return parts[0], parts[1]


@app.command()
def fit(
    profile: Annotated[Path, typer.Argument(help="Depth profile: CSV (depth_nm/depth_um + fraction or isotope "
                                                 "counts) or any depth-profile file ionscope reads.")],
    time: TimeOpt,
    model: Annotated[str, typer.Option("--model", help="auto (chooses among couple, surface-exchange, thin-film by "
                                                       "AIC) or one of couple, surface-exchange, thin-film, "
                                                       "semi-infinite, thin-source, two-layer")] = "auto",
    isotopes: IsoOpt = None,
    background: Annotated[Optional[float], typer.Option(help="Fix the background fraction (e.g. 0.0759 for "
                                                             "natural ⁶Li).")] = None,
    resolution_nm: Annotated[Optional[str], typer.Option("--resolution", help="Gaussian depth resolution σ as a "
                                                                               "length with its unit (e.g. '5nm'), "
                                                                               "or 'fit'.")] = None,
    offset: Annotated[bool, typer.Option("--offset", help="Fit a depth offset.")] = False,
    thickness_nm: Annotated[Optional[str], typer.Option("--thickness", help="Sample/layer thickness with its "
                                                                            "unit (e.g. '2um') for the validity "
                                                                            "check.")] = None,
    bootstrap: Annotated[int, typer.Option(help="Parametric bootstrap refits for the uncertainties (0: "
                                                "covariance).")] = 0,
    json: JsonOpt = False,
) -> None:
    """Fit D (and k) to an isotope-exchange depth profile."""
    from ionscope.diffusion.fit import MODELS, fit_profile
    from ionscope.diffusion.tables import read_profile

    if model not in (*MODELS, "auto"):
        raise ValidationError(f"--model must be auto or one of {', '.join(MODELS)}, got {model!r}")
    t = quantity_option(time, "--time", "s", require_unit=True, positive=True).value
    table = read_profile(profile, _isotopes(isotopes))
    res = None
    if resolution_nm is not None and resolution_nm != "fit":
        res = quantity_option(resolution_nm, "--resolution", "nm", require_unit=True, positive=True).value
    else:
        res = resolution_nm
    thickness = quantity_option(thickness_nm, "--thickness", "nm", require_unit=True, positive=True)
    from ionscope.model.provenance import describe_input

    with progress("fitting", quiet=json):
        result = fit_profile(table.depth_nm, table.fraction, t, model=model, sigma=table.sigma, background=background,
                             fit_offset=offset, resolution_nm=res,
                             sample_thickness_nm=None if thickness is None else thickness.value,
                             uncertainty="bootstrap" if bootstrap > 0 else "covariance", n_boot=max(bootstrap, 1),
                             inputs=[describe_input(profile)])
    if json:
        emit_json(result)
        return
    tab = Table("quantity", "value", box=None)
    tab.add_row("model", str(result["model"]))
    tab.add_row("D", f"{show(result['D'])}")
    if result["k_cm_s"] is not None:
        tab.add_row("k", f"{show(result['k'])}")
        tab.add_row("h√(Dt)", f"{show(result['h_sqrt_Dt'])}")
    tab.add_row("√(Dt)", f"{show(result['diffusion_length_nm'])} nm")
    tab.add_row("χ²_red", f"{show(result['chi2_red'])}")
    console.print(tab)
    if "comparison" in result.values:
        comp = Table("model", "χ²_red", "AIC", "ΔAIC", "D (cm²/s)", box=None)
        for r in result["comparison"]:
            comp.add_row(r["model"], f"{r['chi2_red']:.3g}", f"{r['aic']:.1f}", f"{r['delta_aic']:.1f}",
                         f"{r['D_cm2_s']:.3g}")
        console.print(comp)
    print_warnings(result.warnings)


@app.command()
def arrhenius(
    table: Annotated[Path, typer.Argument(help="CSV with T_K (or T_C), D_cm2_s and an optional 1σ of D: D_err, "
                                               "D_sigma, dD or D_uncertainty, bare (cm²/s) or with _cm2_s/_m2_s. "
                                               "Other columns are reported as unused.")],
    json: JsonOpt = False,
) -> None:
    """Fit D = D₀ exp(−Eₐ/k_BT) (eq. 2 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917):
    activation energy and prefactor with uncertainties.

    With a 1σ column, χ²_red above 1 + 3√(2/ν) (ν = points − 2) marks a poor fit: a warning, and the
    uncertainties are inflated by the Birge ratio √χ²_red (Birge 1932, doi:10.1103/PhysRev.40.207)."""
    from ionscope.diffusion.tables import read_arrhenius_table
    from ionscope.diffusion.transport import arrhenius as fit_arrhenius
    from ionscope.model.provenance import describe_input

    tab = read_arrhenius_table(table)
    T, D, err = tab.T_K, tab.D, tab.D_uncertainty
    fitted = fit_arrhenius(T, D, err, inputs=[describe_input(table)])
    result = replace(fitted, values={**fitted.values, "uncertainty_column": tab.uncertainty_column,
                                     "unused_columns": list(tab.unused_columns)},
                     warnings=(*tab.warnings, *fitted.warnings))
    if json:
        emit_json(result)
        return
    console.print(f"Eₐ = {show(result['Ea'])}")
    console.print(f"D₀ = {show(result['D0'])}")
    if err is not None and result["chi2_red_limit"] is not None:
        birge = result["birge_ratio"]
        note = f" (> {result['chi2_red_limit']:.3g}: poor fit, uncertainties ×{birge:.3g})" if birge > 1 else ""
        console.print(f"χ²_red {show(result['chi2_red'])}{note}")
    print_warnings(result.warnings)


@app.command()
def haven(
    dstar: Annotated[str, typer.Option("--dstar", help="Tracer diffusion coefficient D*, in cm²/s or with a unit "
                                                       "and optional 1σ ('6e-13±5e-14 cm^2/s').")],
    sigma: Annotated[str, typer.Option("--sigma", help="Ionic conductivity, in S/cm or with a unit ('0.3 mS/cm').")],
    n: Annotated[str, typer.Option("--n", help="Mobile-ion concentration, in cm⁻³ or with a unit.")],
    T: Annotated[str, typer.Option("--T", help="Temperature, in K or with a unit ('298.15 K', '25 degC').")],
    z: Annotated[int, typer.Option("--z", help="Charge number of the mobile ion.")] = 1,
    dstar_uncertainty: Annotated[Optional[str], typer.Option("--dstar-uncertainty", help="1σ of D*, in cm²/s or "
                                                                                      "with a unit.")] = None,
    sigma_uncertainty: Annotated[Optional[str], typer.Option("--sigma-uncertainty", help="1σ of σ, in S/cm or with "
                                                                                      "a unit.")] = None,
    dstar_err: Annotated[Optional[str], deprecated_spelling("--dstar-err", "--dstar-uncertainty")] = None,
    sigma_err: Annotated[Optional[str], deprecated_spelling("--sigma-err", "--sigma-uncertainty")] = None,
    json: JsonOpt = False,
) -> None:
    """Nernst–Einstein D_σ and Haven ratio H_R = D*/D_σ (eqs. 4 and 5 of Sharma et al. 2025,
    doi:10.1080/14686996.2025.2580917)."""
    from ionscope.diffusion.transport import check_kelvin, haven_ratio

    D = quantity_option(dstar, "--dstar", "cm^2/s", positive=True)
    s = quantity_option(sigma, "--sigma", "S/cm", positive=True)
    conc = quantity_option(n, "--n", "cm^-3", positive=True)
    temp = quantity_option(T, "--T", "K")
    check_kelvin(temp.value, what="--T", advice=f"a bare --T is in kelvin: for {temp.value:g} °C give "
                                                f"'{temp.value + 273.15:g} K' or '{temp.value:g} degC'")
    dstar_uncertainty = renamed(dstar_uncertainty, dstar_err, old="--dstar-err", new="--dstar-uncertainty")
    sigma_uncertainty = renamed(sigma_uncertainty, sigma_err, old="--sigma-err", new="--sigma-uncertainty")
    D_err = quantity_option(dstar_uncertainty, "--dstar-uncertainty", "cm^2/s")
    s_err = quantity_option(sigma_uncertainty, "--sigma-uncertainty", "S/cm")
    result = haven_ratio(D.value, s.value, conc.value, temp.value, z=z,
                         D_star_uncertainty=D_err.value if D_err else D.uncertainty,
                         sigma_uncertainty=s_err.value if s_err else s.uncertainty, n_uncertainty=conc.uncertainty)
    if json:
        emit_json(result)
        return
    console.print(f"D_σ = {show(result['D_sigma'])}")
    console.print(f"H_R = {show(result['H_R'])}")
    print_warnings(result.warnings)


@app.command()
def leclaire(
    profile: Annotated[Path, typer.Argument(help="Averaged depth profile (CSV or a depth-profile file).")],
    time: TimeOpt,
    d_bulk: Annotated[str, typer.Option("--d-bulk", help="Bulk diffusion coefficient, in cm²/s or with a unit.")],
    isotopes: IsoOpt = None,
    background: Annotated[float, typer.Option(help="Background fraction subtracted before ln C.")] = 0.0,
    delta_nm: Annotated[str, typer.Option("--delta", help="Grain-boundary width δ with its unit.")] = "0.5nm",
    tail_start: Annotated[Optional[str], typer.Option("--tail-start", help="Force the tail start: a depth with "
                                                                           "its unit (e.g. '300nm').")] = None,
    json: JsonOpt = False,
) -> None:
    """Grain-boundary δD_gb from the tail of ln C vs x^(6/5) (Le Claire 1963, Br. J. Appl. Phys. 14, 351,
    doi:10.1088/0508-3443/14/6/317; eq. 9 of Sharma et al. 2025, doi:10.1080/14686996.2025.2580917) with the
    β regime check."""
    from ionscope.diffusion.grain_boundary import le_claire
    from ionscope.diffusion.tables import read_profile
    from ionscope.model.provenance import describe_input

    t = quantity_option(time, "--time", "s", require_unit=True, positive=True).value
    Db = quantity_option(d_bulk, "--d-bulk", "cm^2/s", positive=True).value
    delta = quantity_option(delta_nm, "--delta", "nm", require_unit=True, positive=True).value
    start = quantity_option(tail_start, "--tail-start", "nm", require_unit=True)
    table = read_profile(profile, _isotopes(isotopes))
    result = le_claire(table.depth_nm, table.fraction, t, Db, background=background, sigma=table.sigma,
                       delta_nm=delta, tail_start_nm=None if start is None else start.value,
                       inputs=[describe_input(profile)])
    if json:
        emit_json(result)
        return
    console.print(f"δD_gb = {show(result['delta_Dgb'])}")
    console.print(f"β = {show(result['beta'])} (regime {result['regime']}); tail {show(result['tail_start_nm'])}–"
                  f"{show(result['tail_end_nm'])} nm ({result['tail_points']} points)")
    print_warnings(result.warnings)


@app.command("map")
def map_(
    cube: Annotated[Path, typer.Argument(help="3-D depth profile (scan, y, x, peak): Zarr, GRD, BIF6 or imzML.")],
    isotopes: Annotated[str, typer.Option("--isotopes", help="Tracer and other isotope peaks, tracer first, e.g. "
                                                             "'^18O-,^16O-'.")],
    time: Annotated[str, typer.Option("--time", help="Anneal time with its unit ('1h', '3600 s').")],
    out: Annotated[Path, typer.Option("--out", help="Maps as a Zarr store (D, D_uncertainty, k, k_uncertainty, "
                                                    "chi2_red).")],
    model: Annotated[str, typer.Option("--model", help="surface-exchange (D* and k) | semi-infinite (D* "
                                                       "only).")] = "surface-exchange",
    rate: Annotated[Optional[str], typer.Option("--rate", help="Sputter rate with its unit ('0.8nm/s') when "
                                                               "the cube has no depth axis.")] = None,
    figure: Annotated[Optional[Path], typer.Option("--figure", help="Also draw the maps (.png, .svg or "
                                                                    ".pdf).")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Per-pixel D* and k maps with uncertainties and χ²_red (eq. 8 of Sharma et al. 2025,
    doi:10.1080/14686996.2025.2580917) from an isotope-exchange cube."""
    import time as _time

    import ionscope
    from ionscope.cli.common import check_output_file
    from ionscope.diffusion.maps import BLOCK_PIXELS, MODELS, map_cube, map_figure, map_summary, write_map
    from ionscope.io.zarr_store import check_store_output
    from ionscope.model.provenance import describe_input

    start = _time.perf_counter()
    if model not in MODELS:
        raise ValidationError(f"--model must be surface-exchange or semi-infinite, got {model!r}")
    pair = _isotopes(isotopes)
    t = quantity_option(time, "--time", "s", require_unit=True, positive=True).value
    r = quantity_option(rate, "--rate", "nm/s", require_unit=True, positive=True)
    check_store_output(out, force)
    if figure is not None:
        check_output_file(figure, force, (".svg", ".png", ".pdf"), option="--figure")
    data = ionscope.read(cube)
    sizes = dict(getattr(data, "sizes", {}))
    blocks = -(-sizes.get("y", 1) // max(1, BLOCK_PIXELS // max(sizes.get("x", 1), 1)))
    with progress("fitting pixel blocks", total=blocks, quiet=json) as task:
        result = map_cube(data, pair, t, model=model, rate_nm_s=None if r is None else r.value, path=cube,
                          inputs=[describe_input(cube)], progress=task.advance)
    ds = result.maps
    write_map(ds, out, force=force)
    if figure is not None:
        from ionscope.depth.plots import save_figure

        save_figure(map_figure(ds), figure, force=force)
    result = map_summary(result, out, _time.perf_counter() - start)
    if json:
        emit_json(result)
        return
    tab = Table("quantity", "median over pixels", "spread", "per-pixel 1σ", box=None)
    tab.add_row("D*", f"{show(result['D'])}", f"{result['D_spread'].value:.2g}",
                f"{result['D_pixel_uncertainty'].value:.2g}")
    if "k" in result.values:
        tab.add_row("k", f"{show(result['k'])}", f"{result['k_spread'].value:.2g}",
                    f"{result['k_pixel_uncertainty'].value:.2g}")
    console.print(tab)
    console.print(f"χ²_red (median) {show(result['chi2_red'])}; {result['pixels_fitted']} pixels fitted in "
                  f"{result['fit_time'].value:.2f} s (command {result['command_time'].value:.2f} s); wrote {out}")
    print_warnings(result.warnings)


@app.command()
def fraction(
    profile: Annotated[Path, typer.Argument(help="Depth profile: CSV (depth_nm/depth_um/sputter_time_s + isotope "
                                                 "count columns) or any depth-profile file ionscope reads.")],
    isotopes: Annotated[str, typer.Option("--isotopes", help="Tracer and other isotope, tracer first, e.g. "
                                                             "'^6Li+,^7Li+'.")],
    shots: Annotated[Optional[float], typer.Option("--shots", help="Primary shots per point: correct the raw "
                                                                   "counts for detector dead time.")] = None,
    background: Annotated[Optional[str], typer.Option("--background", help="Background tracer fraction with "
                                                                           "optional 1σ ('0.0759±0.0005'); "
                                                                           "default: natural abundance.")] = None,
    source: Annotated[float, typer.Option("--source", help="Tracer fraction of the source (enrichment), for the "
                                                           "normalised fraction.")] = 1.0,
    json: JsonOpt = False,
) -> None:
    """Tracer isotope fraction per point with its natural-abundance background and the normalised fraction."""
    from ionscope.diffusion.fraction import fraction_profile, read_isotope_counts
    from ionscope.model.provenance import describe_input

    pair = _isotopes(isotopes)
    if shots is not None and not shots > 0:
        raise ValidationError(f"--shots must be positive, got {shots!r}")
    bg = quantity_option(background, "--background", "1")
    counts = read_isotope_counts(profile, pair)
    axis, unit, a, b, labels = (counts[k] for k in ("axis", "axis_unit", "tracer_counts", "other_counts", "labels"))
    result = fraction_profile(axis, unit, a, b, tuple(labels), shots=shots,
                              background=None if bg is None else (bg.value, bg.uncertainty), source=source,
                              inputs=[describe_input(profile)])
    if json:
        emit_json(result)
        return
    deep = result["deep_fraction"]
    console.print(f"background f_bg = {result['background'].value:.4g}; deepest tenth f = {deep.value:.4g} ± "
                  f"{deep.uncertainty:.2g}")
    tab = Table(f"{'depth' if unit == 'nm' else 'time'} ({unit})", "f", "σ_f", "f′ (normalised)", box=None)
    f, n = result["fraction"], result["normalised_fraction"]
    step = max(1, len(axis) // 20)
    for i in range(0, len(axis), step):
        tab.add_row(f"{axis[i]:.4g}", f"{f.value[i]:.4f}", f"{f.uncertainty[i]:.2g}", f"{n.value[i]:.4f}")
    console.print(tab)
    print_warnings(result.warnings)


@app.command()
def chemical(
    dstar: Annotated[str, typer.Option("--dstar", help="Tracer diffusion coefficient D*, in cm²/s or with a unit "
                                                       "and optional 1σ ('6e-13±5e-14 cm^2/s').")],
    thermodynamic_factor: Annotated[str, typer.Option("--thermodynamic-factor", help="Thermodynamic factor Θ "
                                                                                    "(dimensionless, optional "
                                                                                    "1σ: '12±2').")],
    haven: Annotated[str, typer.Option("--haven", help="Haven ratio H_R (dimensionless, optional 1σ: "
                                                       "'0.55±0.05').")],
    json: JsonOpt = False,
) -> None:
    """Chemical diffusion coefficient D̃ = Θ·D*/H_R (eqs. 5–6 of Sharma et al. 2025,
    doi:10.1080/14686996.2025.2580917) with its propagated uncertainty."""
    from ionscope.diffusion.transport import chemical_from_tracer

    D = quantity_option(dstar, "--dstar", "cm^2/s", positive=True)
    th = quantity_option(thermodynamic_factor, "--thermodynamic-factor", "1", positive=True)
    hr = quantity_option(haven, "--haven", "1", positive=True)
    result = chemical_from_tracer(D.value, th.value, hr.value, D_star_err=D.uncertainty, theta_err=th.uncertainty,
                                  haven_err=hr.uncertainty)
    if json:
        emit_json(result)
        return
    console.print(f"D_σ = D*/H_R = {show(result['D_sigma'])}")
    console.print(f"D̃ = Θ·D_σ = {show(result['D_chemical'])}")
    print_warnings(result.warnings)


@app.command()
def gb(
    profile: Annotated[Path, typer.Argument(help="Averaged depth profile (CSV or a depth-profile file).")],
    time: TimeOpt,
    dbulk: Annotated[str, typer.Option("--d-bulk", "--dbulk", help="Bulk diffusion coefficient, in cm²/s or "
                                                                   "with a unit.")],
    grain_size: Annotated[str, typer.Option("--grain-size", help="Grain size with its unit (e.g. '4um').")],
    isotopes: IsoOpt = None,
    delta_nm: Annotated[str, typer.Option("--delta", help="Grain-boundary width δ with its unit.")] = "0.5nm",
    tail_start: Annotated[Optional[str], typer.Option("--tail-start", help="Force the Le Claire tail start: a depth "
                                                                           "with its unit (e.g. '300nm').")] = None,
    json: JsonOpt = False,
) -> None:
    """Grain-boundary δ·D_gb by the numerical 2-D (Whipple–Suzuoka) model, beside Le Claire's tail estimate
    (Le Claire 1963, doi:10.1088/0508-3443/14/6/317) and the regime where that estimate holds."""
    from ionscope.diffusion.gb2d import grain_boundary_analysis
    from ionscope.diffusion.tables import read_profile
    from ionscope.model.provenance import describe_input

    t = quantity_option(time, "--time", "s", require_unit=True, positive=True).value
    Db = quantity_option(dbulk, "--d-bulk", "cm^2/s", positive=True).value
    d = quantity_option(grain_size, "--grain-size", "µm", require_unit=True, positive=True).value
    delta = quantity_option(delta_nm, "--delta", "nm", require_unit=True, positive=True).value
    start = quantity_option(tail_start, "--tail-start", "nm", require_unit=True)
    table = read_profile(profile, _isotopes(isotopes))
    with progress("2-D grain-boundary fit", quiet=json):
        result = grain_boundary_analysis(table.depth_nm, table.fraction, t, D_bulk=Db, grain_size_um=d,
                                         delta_nm=delta, sigma=table.sigma,
                                         tail_start_nm=None if start is None else start.value,
                                         inputs=[describe_input(profile)])
    if json:
        emit_json(result)
        return
    _print_gb(result)


def _print_gb(result) -> None:
    """The two δD_gb estimates, Harrison's regime and whether Le Claire's 6/5 law holds (same criteria as the JSON)."""
    from ionscope.diffusion.gb2d import HARRISON, LE_CLAIRE_1963
    from ionscope.diffusion.grain_boundary import BETA_MIN

    tab = Table("method", "δD_gb", "D_gb", "β", f"β ≥ {BETA_MIN:g}", box=None)
    tab.add_row("2-D model", f"{show(result['delta_Dgb'])}", f"{show(result['D_gb'])}", f"{show(result['beta'])}",
                "yes" if result["beta"] >= BETA_MIN else "no")
    lc = result["le_claire"]
    if "delta_Dgb" in lc:
        tab.add_row("Le Claire tail", f"{show(lc['delta_Dgb'])}", f"{show(lc['D_gb'])}", f"{show(lc['beta'])}",
                    "yes" if lc["beta"] >= BETA_MIN else "no")
    console.print(tab)
    console.print(f"Harrison regime {result['regime']} (α = δ/2√(D_bulk t) = {result['alpha']:.3g}; {HARRISON})")
    if result["le_claire_holds"]:
        console.print(f"Le Claire's 6/5 law holds here: type B and β ≥ {BETA_MIN:g} for both estimates "
                      f"({LE_CLAIRE_1963})")
    else:
        console.print(f"Le Claire's 6/5 law does not hold here: {'; '.join(result['le_claire_reasons'])} (it needs "
                      f"type B and β ≳ {BETA_MIN:g}; {LE_CLAIRE_1963})")
    if "delta_Dgb" in lc:
        console.print(f"Le Claire / 2-D δD_gb = {result['ratio_le_claire_to_2d']:.3g}, "
                      f"{result['z_le_claire_vs_2d']:.2g} combined σ apart")
    birge = result["birge_ratio"]
    note = f" (> {result['chi2_red_limit']:.3g}: poor fit, uncertainties ×{birge:.3g})" if birge > 1 else ""
    console.print(f"χ²_red of the 2-D fit {show(result['chi2_red'])}{note}")
    print_warnings(result.warnings)
