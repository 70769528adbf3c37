"""``ionscope depth``: interfaces, layer tables and plots of depth profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ionscope.cli.common import console, emit_json, figure_written, naming, progress, show
from ionscope.cli.options import ForceOpt, JsonOpt, deprecated_spelling, renamed
from ionscope.model.errors import ValidationError

NAME = "depth"
app = typer.Typer(help="Depth profiles: interfaces, layers, depth scales and plots.", no_args_is_help=True)

SpeciesOpt = Annotated[Optional[str], typer.Option(
    "--species", "-s", help="Comma-separated marker species, as labelled in the file (e.g. 'Au-,PbI_3-,InO_2-'). "
                            "Default: the species with a significant step or maximum, one per layer (the choice is "
                            "printed).")]
AxisOpt = Annotated[str, typer.Option("--axis", help="x-axis: sputter_time, dose, fluence or scan.")]


def _species(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise ValidationError("--species needs at least one species name")
    return names


def _rates(text: str) -> list[tuple[float, float]]:
    """'0.8nm/s', '1.5' (nm/s) or '0.8±0.05 nm/s,2±0.1 nm/s' → [(value, sigma) in nm/s…]."""
    from ionscope.model.units import parse_measurement

    out = []
    for part in text.split(","):
        q = parse_measurement(part, default_unit="nm/s", to_unit="nm/s", what="--rates")
        if not q.value > 0:
            raise ValidationError(f"--rates: {part!r} is not a positive sputter rate")
        out.append((q.value, q.uncertainty or 0.0))
    return out


@app.command()
def layers(
    path: Annotated[Path, typer.Argument(help="Depth-profile file (e.g. SurfaceLab text export).")],
    species: SpeciesOpt = None,
    rates: Annotated[Optional[str], typer.Option(
        "--rates", help="Sputter rate(s), one for all or one per layer, with a unit or in nm/s: "
                        "'0.8±0.05 nm/s,2.0±0.1'.")] = None,
    axis: AxisOpt = "sputter_time",
    json: JsonOpt = False,
) -> None:
    """Locate interfaces (50 % points, 16–84 % widths) and list the layers of PATH."""
    import ionscope
    from ionscope.depth.layer_table import layer_table
    from ionscope.model.result import Quantity

    parsed_rates = _rates(rates) if rates is not None else None
    with progress("locating interfaces", quiet=json), naming(path):
        result = layer_table(ionscope.read(path), _species(species) if species is not None else None,
                             axis=axis, rates=parsed_rates)
    if json:
        emit_json(result, parameters={"rates": [Quantity(v, u, "nm/s") for v, u in parsed_rates]}
                  if parsed_rates is not None else None)
        return
    _print_layers(path, result, axis)


def _say_chosen(chosen) -> None:
    """Tell (on stderr) which marker species were chosen automatically and how."""
    from rich.markup import escape

    from ionscope.cli.common import err_console
    from ionscope.depth import species_label

    err_console.print(f"chose {len(chosen['species'])} marker species (of {chosen['qualified']} with a "
                      f"significant step or maximum, among {chosen['candidates']} species with finite counts in "
                      f"the {chosen['columns']} columns of the file): "
                      f"{escape(', '.join(species_label(s) for s in chosen['species']))}; give --species to choose "
                      "others", highlight=False, soft_wrap=True)
    for group in chosen.get("groups", []):
        if group.get("why"):
            err_console.print(f"  marker {escape(group['why'])}", highlight=False, soft_wrap=True)


def _print_layers(path: Path, result, axis: str) -> None:
    """The layer table as text on stdout; warnings on stderr."""
    from ionscope.cli.common import print_warnings
    from ionscope.depth import species_label as pretty_ion

    values = result.values
    if values.get("species_chosen") is not None:
        _say_chosen(values["species_chosen"])
    unit = values["layers"][0]["start"].unit if values["layers"] else ""
    n = len(values["layers"])
    console.print(f"[bold]{path.name}[/bold]: {n} layer{'' if n == 1 else 's'} on {axis} ({unit})", highlight=False)
    for i in values["interfaces"]:
        lower = pretty_ion(i["lower"]) if i["lower"] else "unmarked layer"
        width = f"width {show(i['width'])}" if i.get("resolved", True) else f"unresolved: {i['unresolved_reason']}"
        console.print(f"  interface {pretty_ion(i['upper'])} → {lower}: {show(i['position'])}, {width}",
                      highlight=False)
    for lay in values.get("depth_layers", values["layers"]):
        members = lay.get("species") or []
        merged = f" (merged: {', '.join(map(pretty_ion, members))} share this layer)" if len(members) > 1 else ""
        name = pretty_ion(lay["dominant_species"]) if lay["dominant_species"] else "unmarked (no chosen species)"
        console.print(f"  layer {name}: {show(lay['start'])} … {show(lay['end'])}, "
                      f"thickness {show(lay['thickness'])}{merged}"
                      + ("" if lay.get("resolved", True) else f" — not resolved: {lay['unresolved_reason']}"),
                      highlight=False)
    if values.get("weak_species"):
        console.print(f"  left out as too weak: {', '.join(map(pretty_ion, values['weak_species']))}", highlight=False)
    print_warnings(result.warnings)


@app.command()
def plot(
    path: Annotated[Path, typer.Argument(help="Depth-profile file.")],
    out: Annotated[Path, typer.Option("--out", help="Figure file (.svg, .png or .pdf).")],
    species: SpeciesOpt = None,
    axis: AxisOpt = "sputter_time",
    log: Annotated[bool, typer.Option("--log/--linear", help="Logarithmic intensity scale (default), which shows "
                                                              "minor species; --linear shows sequential maxima "
                                                              "better.")] = True,
    normalisation: Annotated[Optional[str], typer.Option("--normalisation", help="total, max or a reference "
                                                                                 "species name.")] = None,
    interfaces: Annotated[bool, typer.Option("--interfaces/--no-interfaces",
                                             help="Mark the interfaces found from the species.")] = True,
    force: ForceOpt = False,
    normalise: Annotated[Optional[str], deprecated_spelling("--normalise", "--normalisation")] = None,
    json: JsonOpt = False,
) -> None:
    """Plot the chosen species of PATH against sputter time, dose or fluence, with interfaces marked."""
    import ionscope
    from ionscope.cli.common import check_output_file
    from ionscope.depth import check_artefacts, layer_table
    from ionscope.depth.plots import profile_figure

    check_output_file(out, force, (".svg", ".png", ".pdf"))
    with naming(path):
        profile = ionscope.read(path)
        # the same analysis as `depth layers`, so the same warnings (interfaces and artefact flags)
        given = _species(species) if species is not None else None
        table = layer_table(profile, given, axis=axis) if interfaces or given is None else None
        if table is not None and table.values.get("species_chosen") is not None:
            _say_chosen(table.values["species_chosen"])
        if given is not None:
            names = given
        else:
            assert table is not None  # made whenever no species are given
            names = list(table.values["species_chosen"]["species"])
        found = table if interfaces else None
        normalisation = renamed(normalisation, normalise, old="--normalise", new="--normalisation")
        fig = profile_figure(profile, names, axis=axis, log=log, normalise=normalisation, layers=found)
    from ionscope.depth.plots import save_figure

    save_figure(fig, out, force=force)
    result = _plot_result(profile, out, names, axis, log, normalisation, found,
                          found.warnings if found is not None else check_artefacts(profile).warnings)
    if json:
        emit_json(result)
        return
    console.print(f"wrote {out}", highlight=False)
    from ionscope.cli.common import print_warnings

    print_warnings(result.warnings)


def _plot_result(profile, out: Path, names: list[str], axis: str, log: bool, normalisation: str | None, found,
                 warnings=()):
    """What `depth plot` drew: the figure (path, SHA-256), species, axis and intensity units, interfaces marked."""
    from ionscope.depth._common import axis_values
    from ionscope.model.result import Result

    unit = axis_values(profile, axis)[1]
    marked = [] if found is None else [
        {"upper": i["upper"], "lower": i["lower"], "position": i["position"],
         "resolved": bool(i.get("resolved", True))} for i in found["interfaces"]]
    values = {**figure_written(out), "species": list(names), "axis": axis, "axis_unit": unit,
              "intensity_unit": "counts" if not normalisation else "1", "scale": "log" if log else "linear",
              "normalisation": normalisation, "interfaces": marked}
    return Result("depth.plot", values, warnings=tuple(warnings))


@app.command()
def mri(
    path: Annotated[Path, typer.Argument(help="Depth-profile file.")],
    species: Annotated[str, typer.Option("--species", "-s", help="One marker species per layer, top to bottom "
                                                                 "(e.g. 'Au-,PbI_3-,InO_2-').")],
    axis: AxisOpt = "sputter_time",
    figure: Annotated[Optional[Path], typer.Option("--figure", help="Draw the data and the fitted curves (.png, "
                                                                    ".svg or .pdf).")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Mixing–roughness–information-depth fit (Hofmann 1994, Surf. Interface Anal. 21, 673,
    doi:10.1002/sia.740210912): w, σ, λ, true interfaces and per-layer composition with uncertainties."""
    import ionscope
    from ionscope.cli.common import check_output_file
    from ionscope.depth.mri import mri_analysis, mri_figure
    from ionscope.model.provenance import describe_input
    from ionscope.model.result import Result

    names = _species(species)
    if figure is not None:
        check_output_file(figure, force, (".svg", ".png", ".pdf"), option="--figure")
    with progress("MRI fit", quiet=json):
        profile = ionscope.read(path)
        analysis = mri_analysis(profile, names, axis=axis, inputs=[describe_input(path)])
    curves = analysis.curves
    result = Result(analysis.kind, {k: v for k, v in analysis.values.items() if k != "curves"}, analysis.warnings,
                    analysis.provenance, analysis.flags)
    if figure is not None:
        from ionscope.depth.plots import save_figure

        save_figure(mri_figure(curves), figure, force=force)
    if json:
        emit_json(result)
        return
    _print_mri(result, names)


def _percent(q):
    """A fraction (unit 1) as a quantity in %."""
    from ionscope.model.result import Quantity

    return Quantity(100 * q.value, None if q.uncertainty is None else 100 * q.uncertainty, "%")


def _print_mri(result, names: list[str]) -> None:
    """The MRI parameters and the per-layer signal fractions as text, rounded by :func:`show`; warnings on stderr.

    The fractions are least-squares amplitudes and backgrounds of every species normalised per layer
    (:func:`ionscope.depth.mri.mri_analysis`): not constrained to ≥ 0, so a small negative fraction within
    its 1σ is noise; each row sums to 1 by construction.
    """
    from rich.table import Table

    from ionscope.cli.common import print_warnings

    tab = Table("parameter", "value", box=None)
    for key, label in (("mixing_length", "mixing length w"), ("roughness", "roughness σ"),
                       ("information_depth", "information depth λ")):
        tab.add_row(label, show(result[key]))
    for k, q in enumerate(result["interfaces"]):
        tab.add_row(f"interface {k + 1}", show(q))
    birge = result["birge_ratio"]
    note = f" (> {result['chi2_red_limit']:.3g}: poor fit, uncertainties ×{birge:.3g})" if birge > 1 else ""
    tab.add_row("χ²_red", show(result["reduced_chi2"]) + note)
    console.print(tab)
    from ionscope.depth import species_label

    comp = Table("layer (marker)", *map(species_label, names), box=None)
    for layer in result["layers"]:
        c = layer["composition"]
        comp.add_row(species_label(layer["marker"]), *(show(_percent(c[n])) for n in names))
    console.print(comp)
    console.print("  signal fractions (no relative sensitivity factors: not atomic fractions) from unconstrained "
                  "least-squares amplitudes and backgrounds: a fraction may be negative within its 1σ; each row "
                  "sums to 100 % by construction", highlight=False, style="dim")
    print_warnings(result.warnings)


def _interface_specs(items: list[str]) -> list[tuple[str, bool]]:
    out = []
    for item in items:
        name, _, edge = item.rpartition(":")
        if not name or edge not in ("falling", "rising"):
            raise ValidationError(f"--interface needs SPECIES:falling or SPECIES:rising, got {item!r}")
        out.append((name, edge == "falling"))
    return out


def _scan_ranges(text: str | None) -> list[tuple]:
    """``'0:20,20:60'`` (scan indices) or ``'0nm:50nm,0s:100s'``: ``(start, stop)`` or ``(start, stop, unit)``."""
    from ionscope.model.errors import UnitError
    from ionscope.model.units import conversion_factor, parse_measurement

    if text is None:
        return []
    out: list[tuple] = []
    usage = "--layers takes ranges START:STOP in scan indices ('0:20') or with a unit ('0nm:50nm', '0s:100s')"
    for part in text.split(","):
        a, sep, b = (t.strip() for t in part.strip().partition(":"))
        if not sep or not a or not b:
            raise ValidationError(f"{usage}, got {part!r}")
        if a.isdigit() and b.isdigit():
            out.append((int(a), int(b)))
            continue
        try:
            qa = parse_measurement(a, require_unit=True, what="--layers")
            qb = parse_measurement(b, require_unit=True, what="--layers")
            stop = qb.value * conversion_factor(qb.unit, qa.unit)
        except UnitError:
            raise ValidationError(f"{usage}; both ends with units of the same kind, got {part!r}") from None
        out.append((qa.value, stop, qa.unit))
    return out


def _rect(text: str | None) -> list[tuple[float, float, float, float]]:
    """``'0um,0um,5um,5um'`` → ``[(x0, y0, x1, y1)]`` in µm (units required)."""
    if text is None:
        return []
    from ionscope.model.errors import UnitError
    from ionscope.model.units import parse_measurement

    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 4:
        raise ValidationError(f"--rect takes x0,y0,x1,y1 with units, e.g. '0um,0um,5um,5um', got {text!r}")
    try:
        vals = [parse_measurement(t, require_unit=True, to_unit="µm", what="--rect").value for t in parts]
    except UnitError as exc:
        raise ValidationError(f"{exc.problem}; --rect takes x0,y0,x1,y1 with units, e.g. '0um,0um,5um,5um'") from None
    if vals[0] == vals[2] or vals[1] == vals[3]:
        raise ValidationError(f"--rect {text!r} has zero width or height")
    return [(vals[0], vals[1], vals[2], vals[3])]


def _mask_image(path: Path):
    """The 2-D image of a mask file (TIFF, or anything ``ionscope.read`` opens), as a NumPy array."""
    import numpy as np

    import ionscope

    img = ionscope.read(path)
    arr = np.asarray(getattr(img, "values", img))
    return arr.squeeze() if arr.ndim > 2 else arr


def _mesh_paths(mesh: Path | None, specs: list[tuple[str, bool]], axis: str, force: bool) -> list[tuple[str, Path]]:
    """``(species, file)`` for every interface surface ``--mesh`` asks for, checked before any work."""
    import re

    from ionscope.cli.common import check_output_file
    from ionscope.io.mesh import MESH_FORMATS

    if mesh is None:
        return []
    if mesh.suffix.lower() not in MESH_FORMATS:
        raise ValidationError(f"--mesh must end in .vtk or .stl, got {mesh.name!r}")
    if not specs:
        raise ValidationError("--mesh writes interface surfaces: give at least one --interface SPECIES:falling")
    if axis != "depth":
        raise ValidationError(f"--mesh needs the interface in depth (--axis depth, with --rate when the cube has "
                              f"no depth coordinate), not in {axis}")
    if len(specs) == 1:
        paths = [(specs[0][0], mesh)]
    else:
        paths = [(sp, mesh.with_name(f"{mesh.stem}_{re.sub(r'[^A-Za-z0-9+-]+', '', sp) or i}{mesh.suffix}"))
                 for i, (sp, _) in enumerate(specs)]
    for _, p in paths:
        check_output_file(p, force, None, option="--mesh")
    return paths


@app.command()
def cube(
    path: Annotated[Path, typer.Argument(help="3-D depth profile (scan, y, x, peak): Zarr, GRD, BIF6 or imzML.")],
    out: Annotated[Path, typer.Option("--out", help="Maps as a Zarr store.")],
    interface: Annotated[Optional[list[str]], typer.Option("--interface", help="SPECIES:falling or "
                                                                              "SPECIES:rising (repeatable).")] = None,
    layers_: Annotated[Optional[str], typer.Option("--layers", help="Ranges to average: scan indices "
                                                                    "('0:20,20:60'), depths ('0nm:50nm') or "
                                                                    "sputter times ('0s:100s').")] = None,
    roi: Annotated[Optional[Path], typer.Option("--roi", help="Boolean or label image (TIFF, y×x of the cube): "
                                                          "mean depth profile of each region.")] = None,
    rect: Annotated[Optional[str], typer.Option("--rect", help="Rectangle x0,y0,x1,y1 with units (e.g. "
                                                           "'0um,0um,5um,5um'): its mean depth profile.")] = None,
    side_view_: Annotated[Optional[str], typer.Option("--side-view", help="xz or yz: side views of the "
                                                                          "interface species.")] = None,
    axis: Annotated[str, typer.Option("--axis", help="sputter_time, depth or scan.")] = "sputter_time",
    rate: Annotated[Optional[str], typer.Option("--rate", help="Sputter rate with unit and optional 1σ "
                                                               "('0.8±0.05nm/s') for --axis depth.")] = None,
    mesh: Annotated[Optional[Path], typer.Option("--mesh", help="Also write each interface as a triangulated "
                                                             "surface, OUT.vtk or OUT.stl (x, y, depth all in µm; "
                                                             "needs --axis depth; one file per --interface, "
                                                             "suffixed with the species when several).")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Interface-depth maps with per-pixel uncertainty and roughness, layer maps and side views of a cube."""
    import ionscope
    from ionscope.cli.common import print_warnings, quantity_option
    from ionscope.depth.cube_maps import cube_maps, write_interface_meshes
    from ionscope.io.zarr_store import check_store_output
    from ionscope.model.provenance import describe_input
    from ionscope.model.result import Result

    specs = _interface_specs(interface or [])
    ranges = _scan_ranges(layers_)
    rects = _rect(rect)
    if side_view_ is not None and side_view_ not in ("xz", "yz"):
        raise ValidationError(f"--side-view must be xz or yz, got {side_view_!r}")
    if axis not in ("sputter_time", "depth", "scan"):
        raise ValidationError(f"--axis must be sputter_time, depth or scan, got {axis!r}")
    r = quantity_option(rate, "--rate", "nm/s", require_unit=True, positive=True)
    check_store_output(out, force)
    meshes = _mesh_paths(mesh, specs, axis, force)
    data = ionscope.read(path)
    if not specs and not ranges and roi is None and not rects:
        peaks = [str(p) for p in data.coords["peak"].values] if "peak" in getattr(data, "coords", {}) else []
        raise ValidationError("nothing to map: give --interface SPECIES:rising|falling (repeatable) or --layers, "
                              f"--roi, --rect; the cube's species: {', '.join(peaks) or 'none named'}", path=path)
    rois = []
    if roi is not None:
        from ionscope.depth.cube_maps import roi_masks_from_labels

        shape_yx = (data.sizes.get("y", 0), data.sizes.get("x", 0)) if hasattr(data, "sizes") else (0, 0)
        rois = roi_masks_from_labels(_mask_image(roi), shape_yx, roi)
    views = [(sp, side_view_) for sp, _ in specs] if side_view_ else []
    with progress("interface maps", total=max(len(specs), 1), quiet=json) as task:
        found = cube_maps(data, interfaces=specs, layers=ranges, side_views=views, axis=axis,
                          rois=rois, rects=rects,
                          rate_nm_s=None if r is None else r.value,
                          rate_err_nm_s=None if r is None else r.uncertainty,
                          inputs=[describe_input(path)], progress=task.advance, path=path)
    ds = found.maps
    result = Result(found.kind, {k: v for k, v in found.values.items() if k != "maps"}, found.warnings,
                    found.provenance, found.flags)
    ionscope.save(ds, out, force=force)
    if meshes:
        result = write_interface_meshes(ds, result, meshes, path, force=force)
    if json:
        emit_json(result)
        return
    from rich.table import Table

    from ionscope.depth import species_label

    tab = Table("interface", "pixels", "mean position", "roughness (rms)", box=None)
    for i in result["interfaces"]:
        if "mean_position" in i:
            tab.add_row(f"{species_label(i['species'])} ({i['edge']})", str(i["pixels"]), show(i["mean_position"]),
                        show(i["roughness_rms"]))
    console.print(tab)
    for r in result.values.get("rois", []):
        console.print(f"ROI {r['name']}: {r['pixels']} pixels")
    console.print(f"wrote {out}")
    for m in result.values.get("meshes", []):
        console.print(f"wrote {m['path']} ({m['vertices']} vertices, {m['triangles']} triangles; x, y, depth in µm)")
    print_warnings(result.warnings)
