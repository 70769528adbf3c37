"""``ionscope micro``: microstructure metrics of segmented volumes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from ionscope.cli.common import console, emit_json, naming, print_warnings, progress, show
from ionscope.cli.options import ForceOpt, JsonOpt

NAME = "micro"
app = typer.Typer(help="Microstructure metrics: fractions, surfaces, TPB, percolation, tortuosity.")

Volume = Annotated[Path, typer.Argument(help="Label volume or 2-D label image (TIFF stack, folder, .zip, .tiff.zip "
                                             "or .zarr)")]
Phases = Annotated[str | None, typer.Option(help="NAME=VALUE list, e.g. pore=0,nmc=85,cbd=170; name only the "
                                                 "phases of interest, or omit to analyse every label value")]
Spacing = Annotated[str | None, typer.Option(help="Voxel size with its unit, e.g. 0.39um or 390nm "
                                                  "(default: from the file)")]


def _load(volume: Path, phases: str | None, spacing: str | None) -> Any:
    from ionscope.cli.tomo import open_stack
    from ionscope.micro.phases import label_volume, parse_length_um, parse_phases
    from ionscope.model.errors import ValidationError

    ph = parse_phases(phases) if phases is not None else {}
    vol = open_stack(volume)
    source = str(vol.attrs.get("pixel_size_source", ""))
    if spacing is not None:
        sp: Any = parse_length_um(spacing)
    elif vol.attrs.get("spacing_um") and not source.startswith("unknown"):
        sp = tuple(float(s) for s in vol.attrs["spacing_um"])
    else:  # an assumed 1 µm (or a 72-ppi print density) is not a voxel size: metrics in µm need the real one
        why = source.removeprefix("unknown: ").split("; 1 µm assumed")[0] if source.startswith("unknown: ") else ""
        why = f" ({why})" if why and not why.startswith("1 µm") else ""
        raise ValidationError(f"records no voxel size{why}: give --spacing, e.g. 0.39um", path=volume)
    with naming(volume):
        return label_volume(vol.values, ph, sp)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    from ionscope.model.errors import ValidationError

    if len(set(names)) != len(names):
        raise ValidationError(f"a name is given twice in {text!r}")
    return names


@app.command()
def metrics(volume: Volume, phases: Phases = None, spacing: Spacing = None,
            tortuosity: Annotated[str | None, typer.Option(help="Phases for τ, comma separated (default all)")] = None,
            only: Annotated[str | None, typer.Option(help="Metrics to compute, comma separated: fractions, "
                                                           "surfaces, tpb, percolation, tortuosity, sizes")] = None,
            skip: Annotated[str | None, typer.Option(help="Metrics to leave out (same names as --only)")] = None,
            directions: Annotated[str | None, typer.Option(help="τ directions, e.g. x,y (default: x,y,z for a "
                                                                "volume, x,y for a 2-D image)")] = None,
            tol: Annotated[float, typer.Option(help="Relative accuracy asked of τ (its solver error estimate "
                                                    "is reported)")] = 1e-2,
            sizes: Annotated[bool, typer.Option(help="Local-thickness size distribution per phase")] = True,
            json: JsonOpt = False) -> None:
    """Volume fractions, surface areas, TPB density, percolation, τ per direction and sizes."""
    from ionscope.micro.metrics import microstructure_metrics, select_metrics
    from ionscope.model.errors import ValidationError

    chosen = select_metrics(_names(only), _names(skip))
    dirs = _names(directions)
    if not 0 < tol < 0.1:
        raise ValidationError(f"--tol {tol} must lie between 0 and 0.1")
    with naming(volume):
        res = microstructure_metrics(_load(volume, phases, spacing), metrics=chosen,
                                     tortuosity_phases=_names(tortuosity), sizes=sizes, directions=dirs, tol=tol,
                                     inputs=[volume], stage=partial(progress, quiet=json))
    if json:
        emit_json(res)
        return
    _print_metrics(res)
    print_warnings(res.warnings)


def _print_metrics(res: Any) -> None:
    for name, p in res["phases"].items():
        line = f"{name}: ε = {show(p['volume_fraction'])}"
        if "specific_surface_area_per_um" in p:
            line += (f", SSA = {show(p['specific_surface_area_per_um'])} (marching cubes; "
                     f"face count {show(p['face_count_area_per_um'])})")
        console.print(line, highlight=False)
        for d, t in (p.get("tortuosity") or {}).items():
            tau = t["tortuosity"]
            console.print(f"  τ {d}: " + ("— (" + t["reason"] + ")" if tau is None else show(tau)), highlight=False)
        if "local_thickness_um" in p:
            lt = p["local_thickness_um"]
            console.print(f"  local thickness d10/d50/d90 = {lt['d10']:.3g}/{lt['d50']:.3g}/{lt['d90']:.3g} µm",
                          highlight=False)
    for k, v in (res.values.get("interfacial_area_per_um") or {}).items():
        console.print(f"{k}: interfacial area {show(v)} (marching cubes)", highlight=False)
    if "tpb_density_per_um2" in res.values:
        console.print(f"TPB density {show(res['tpb_density_per_um2'])}", highlight=False)
    if res.values.get("unnamed_labels"):
        console.print(f"unnamed labels (not analysed): {res['unnamed_labels']}", highlight=False)


@app.command()
def representativity(volume: Volume, phase: Annotated[str, typer.Option(help="Phase to assess, e.g. pore")],
                     phases: Phases = None, spacing: Spacing = None,
                     target: Annotated[float, typer.Option(help="Target relative error of the volume "
                                                                "fraction (1σ)")] = 0.05,
                     tortuosity: Annotated[str | None, typer.Option(help="Also τ's uncertainty along these "
                                                                         "directions (8 octant solves each)")] = None,
                     json: JsonOpt = False) -> None:
    """Volume-fraction (and τ) uncertainty from this volume's size, and the cube edge for a target error."""
    from ionscope.micro.representativity import representativity_result

    with naming(volume):
        res = representativity_result(_load(volume, phases, spacing), phase, target=target,
                                      directions=_names(tortuosity) or [], source=volume,
                                      stage=partial(progress, quiet=json))
    values = res.values
    if json:
        emit_json(res)
        return
    console.print(f"{phase}: ε = {values['volume_fraction']:.4f} (1σ between volumes of this size)", highlight=False)
    console.print(f"cube edge for a {target:.0%} relative error: {values['edge_for_target'].value:.3g} µm",
                  highlight=False)
    for k, v in values.items():
        if k.startswith("tortuosity_") and v["sigma"] is not None:
            console.print(f"τ {k[-1]}: representativity 1σ {v['sigma'].value:.3g} (octants "
                          f"{', '.join(f'{t:.3g}' for t in v['octant_tortuosity'].value)})", highlight=False)


@app.command()
def profile(volume: Volume, phase: Annotated[str, typer.Option(help="Phase, e.g. pore")],
            phases: Phases = None, spacing: Spacing = None,
            axis: Annotated[str, typer.Option(help="Axis of the profile: x, y or z (e.g. through the "
                                                    "electrode)")] = "z",
            slabs: Annotated[int, typer.Option(help="Number of slabs for τ(position)")] = 4,
            tortuosity: Annotated[bool, typer.Option(help="Also τ per slab (transport along the axis)")] = True,
            json: JsonOpt = False) -> None:
    """Volume fraction at every plane and τ through consecutive slabs along one axis."""
    from ionscope.micro.profiles import phase_profile

    with naming(volume):
        res = phase_profile(_load(volume, phases, spacing), phase, axis=axis, slabs=slabs, tortuosity=tortuosity,
                            source=volume, stage=partial(progress, quiet=json))
    if json:
        emit_json(res)
        return
    for row in res.values.get("slabs", []):
        tau = "— (does not percolate)" if row["tortuosity"] is None else f"{row['tortuosity']:.3f}"
        console.print(f"{row['from'].value:.3g}–{row['to'].value:.3g} µm: ε = {row['volume_fraction']:.3f}, "
                      f"τ = {tau}", highlight=False)


def _coefficients(text: str) -> dict[str, float]:
    from ionscope.model.errors import ValidationError

    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, val = part.partition("=")
        try:
            out[name.strip()] = float(val)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValidationError(f"coefficient entry {part!r} is not NAME=NUMBER (e.g. pore=1.0)")
    if not out:
        raise ValidationError("give intrinsic coefficients such as --coefficients pore=1.0")
    return out


@app.command()
def transport(volume: Volume,
              coefficients: Annotated[str, typer.Option(help="Intrinsic coefficient per conducting phase, e.g. "
                                                             "pore=1 (electrolyte) or nmc=0.1,cbd=100 (electronic)")],
              phases: Phases = None, spacing: Spacing = None,
              unit: Annotated[str, typer.Option(help="Unit of the coefficients (kept for the result), e.g. S/m "
                                                     "or cm^2/s; 1 for relative values")] = "1",
              directions: Annotated[str, typer.Option(help="Directions, e.g. x,y,z")] = "x,y,z",
              electrode_axis: Annotated[str | None, typer.Option(help="Also the electrode tortuosity factor of "
                                                                      "the single conducting phase, separator at "
                                                                      "the first plane of this axis")] = None,
              tol: Annotated[float, typer.Option(help="Relative accuracy asked of the solves")] = 1e-2,
              json: JsonOpt = False) -> None:
    """Effective conductivity/diffusivity, MacMullin number and the blocking-electrode tortuosity factor."""
    from ionscope.micro.transport import transport_properties

    dirs = _names(directions) or []
    with naming(volume):
        res = transport_properties(_load(volume, phases, spacing), _coefficients(coefficients), unit=unit,
                                   directions=dirs, electrode_axis=electrode_axis, tol=tol, source=volume,
                                   stage=partial(progress, quiet=json))
    values = res.values
    if json:
        emit_json(res)
        return
    _print_transport(values, dirs, electrode_axis)
    print_warnings(res.warnings)


def _print_transport(values: Mapping[str, Any], dirs: list[str], electrode_axis: str | None) -> None:
    """Effective coefficient (in the unit of ``--unit``; relative when it is 1), τ and MacMullin number per
    direction, each rounded to its solver error by :func:`show`."""
    from ionscope.model.result import Quantity

    for d in dirs:
        v = values[d]
        if v["effective"] is None:
            console.print(f"{d}: — ({v['reason']})", highlight=False)
            continue
        eff = v["effective"]
        relative = " (relative to the intrinsic coefficients: no --unit given)" if eff.unit in ("", "1") else ""
        extra = f", τ = {show(v['tortuosity'])}, MacMullin = {show(v['macmullin'])}" if "macmullin" in v else ""
        console.print(f"{d}: effective {show(eff)}{relative}{extra}", highlight=False)
    if isinstance(values.get("electrode_tortuosity"), Quantity):
        console.print(f"electrode tortuosity factor ({electrode_axis}): {show(values['electrode_tortuosity'])}",
                      highlight=False)


@app.command()
def export(volume: Volume,
           electrode: Annotated[str, typer.Option(help="positive or negative")],
           base: Annotated[str, typer.Option(help="Base parameter set: a BPX file (--to bpx) or a PyBaMM set "
                                                  "name such as Chen2020 (--to pybamm)")],
           to: Annotated[str, typer.Option("--to", help="bpx or pybamm")],
           out: Annotated[Path, typer.Option("--out", "-o", help="Output JSON file")],
           active: Annotated[str, typer.Option(help="Active-material phase name, e.g. nmc")],
           phases: Phases = None, spacing: Spacing = None,
           pore: Annotated[str, typer.Option(help="Pore (electrolyte) phase name")] = "pore",
           axis: Annotated[str, typer.Option(help="Through-thickness axis of the volume")] = "z",
           force: ForceOpt = False,
           json: JsonOpt = False) -> None:
    """Write the parameters the microstructure determines into a base BPX file or PyBaMM set."""
    import numpy as np

    from ionscope.micro.export import export_summary, microstructure_parameters, to_bpx, to_pybamm, write_export
    from ionscope.micro.phases import analysis_phases, volume_spacing
    from ionscope.model.errors import ValidationError

    if electrode not in ("positive", "negative"):
        raise ValidationError(f"--electrode must be positive or negative, got {electrode!r}")
    if to not in ("bpx", "pybamm"):
        raise ValidationError(f"--to must be bpx or pybamm, got {to!r}")
    from ionscope.cli.common import check_output_file

    check_output_file(out, force, None)
    lab = _load(volume, phases, spacing)
    with naming(volume), progress("microstructure parameters", None, quiet=json):
        ph = analysis_phases(lab).phases
        params = microstructure_parameters(np.asarray(lab.values), ph, volume_spacing(lab).zyx, pore=pore,
                                           active=active, axis=axis)
    exported = to_bpx(params, base, electrode) if to == "bpx" else to_pybamm(params, base, electrode)
    doc, sources = exported.document, exported.sources
    path = write_export(doc, out, force=force)
    res = export_summary(params, exported, path, to=to, base=base, electrode=electrode, volume=volume,
                         active=active, pore=pore, axis=axis)
    if json:
        emit_json(res)
        return
    console.print(f"wrote {path}", highlight=False)
    for k, v in sources.items():
        console.print(f"  {k}: {v}", highlight=False)


@app.command()
def generate(out: Annotated[Path, typer.Option("--out", "-o", help="Output label volume (.zarr or .tif)")],
             image: Annotated[Path | None, typer.Argument(help="Segmented 2-D label image, or a stack of 2-D "
                                                               "sections (TIFF, .zarr); a grey image is segmented "
                                                               "first. Omit it with --xy/--xz/--yz")] = None,
             size: Annotated[int | None, typer.Option(help="Edge of the generated cube, voxels")] = None,
             shape: Annotated[str | None, typer.Option(help="Shape Z,Y,X instead of --size")] = None,
             phases: Phases = None, spacing: Spacing = None,
             grey_phases: Annotated[int, typer.Option(help="A grey image is segmented into this many phases "
                                                           "(multi-Otsu)")] = 2,
             method: Annotated[str, typer.Option(help="grf: pluri-Gaussian random fields matched to the "
                                                      "two-point functions, a phase of separate particles as "
                                                      "a Boolean model of spheres (seconds to minutes on 2 "
                                                      "cores); anneal: grf "
                                                      "refined by simulated annealing of interface voxels on "
                                                      "two-point, lineal-path, surface and Euler-density "
                                                      "statistics (up to 128³, about a minute per 128³ on 2 "
                                                      "cores; closer pore tortuosity); slicegan: a "
                                                      "3-D GAN trained on 2-D slices (PyTorch: pip install "
                                                      "'ionscope\\[ml]'; hours on a CPU, use a GPU)")] = "grf",
             device: Annotated[str, typer.Option(help="slicegan: cpu or cuda")] = "cpu",
             iterations: Annotated[int, typer.Option(help="slicegan: generator steps")] = 300,
             sweeps: Annotated[float, typer.Option(help="anneal: swaps tried per voxel")] = 2.0,
             range_px: Annotated[int | None, typer.Option("--range", help="Two-point range in pixels (default half "
                                                                          "the image)")] = None,
             seed: Annotated[int, typer.Option(help="Random seed")] = 0,
             xy: Annotated[Path | None, typer.Option("--xy", help="Anisotropic input: section in the xy plane "
                                                                 "(rows y, columns x); needs --xz and --yz")] = None,
             xz: Annotated[Path | None, typer.Option("--xz", help="Section in the xz plane (rows z, "
                                                                 "columns x)")] = None,
             yz: Annotated[Path | None, typer.Option("--yz", help="Section in the yz plane (rows z, "
                                                                 "columns y)")] = None,
             force: Annotated[bool, typer.Option("--force", help="Replace an existing output")] = False,
             json: JsonOpt = False) -> None:
    """Generate a 3-D volume whose fractions and two-point functions match a 2-D micrograph (or three
    orthogonal sections of an anisotropic material)."""
    from ionscope.cli.common import dask_progress
    from ionscope.micro.generate_request import generate_from_sections, generation_request

    request = generation_request(out, image, sections={k: p for k, p in (("xy", xy), ("xz", xz), ("yz", yz))
                                                       if p is not None},
                                 size=size, shape=shape, method=method, spacing=spacing, grey_phases=grey_phases,
                                 phases=phases, device=device, iterations=iterations, sweeps=sweeps,
                                 range_px=range_px, seed=seed, force=force)
    res = generate_from_sections(request, stage=partial(progress, quiet=json), compute=partial(dask_progress,
                                                                                                quiet=json))
    if json:
        emit_json(res)
        return
    _print_generated(res)


def _print_generated(res: Any) -> None:
    v = res.values
    console.print(f"wrote {v['output']} ({'×'.join(map(str, v['shape']))} voxels, {v['method']}, "
                  f"{v['time'].value:.1f} s)", highlight=False)
    if "stretch_zyx" in v:
        console.print("stretch of the correlation along z, y, x: "
                      + " : ".join(f"{s:.2f}" for s in v["stretch_zyx"]), highlight=False)
    for k, gen in v["generated"].items():
        d, ref = v["difference"][k], v["image"][k]
        console.print(f"{k}: ε {gen['volume_fraction'].value:.4f} (image {ref['volume_fraction'].value:.4f}), "
                      f"SSA {gen['specific_surface_area'].value:.4g} µm^-1 "
                      f"({d['specific_surface_area_relative'].value:+.1%} vs the image's (4/π)·L_A), "
                      f"max |ΔS2| {d['two_point_max_abs'].value:.3f}, "
                      f"chord {d['mean_chord_length_relative'].value:+.1%}", highlight=False)
    print_warnings(res.warnings)
