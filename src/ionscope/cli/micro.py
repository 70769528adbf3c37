"""``ionscope micro``: microstructure metrics of segmented volumes."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from ionscope.cli.common import console, emit_json, naming, print_warnings, progress
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
    if spacing is not None:
        sp: Any = parse_length_um(spacing)
    elif vol.attrs.get("spacing_um"):
        sp = tuple(float(s) for s in vol.attrs["spacing_um"])
    else:
        raise ValidationError(f"{volume.name} records no voxel size: give --spacing, e.g. 0.39um", path=volume)
    try:
        return label_volume(vol.values, ph, sp)
    except ValidationError as exc:
        raise ValidationError(str(exc), path=volume) from exc


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
            directions: Annotated[str, typer.Option(help="τ directions, e.g. x,y,z")] = "x,y,z",
            tol: Annotated[float, typer.Option(help="Relative accuracy asked of τ (its solver error estimate "
                                                    "is reported)")] = 1e-2,
            sizes: Annotated[bool, typer.Option(help="Local-thickness size distribution per phase")] = True,
            json: JsonOpt = False) -> None:
    """Volume fractions, surface areas, TPB density, percolation, τ per direction and sizes."""
    from ionscope.micro.metrics import microstructure_metrics, select_metrics
    from ionscope.model.errors import ValidationError

    chosen = select_metrics(_names(only), _names(skip))
    dirs = _names(directions) or []
    if not 0 < tol < 0.1:
        raise ValidationError(f"--tol {tol} must lie between 0 and 0.1")
    lab = _load(volume, phases, spacing)

    res = microstructure_metrics(lab, metrics=chosen, tortuosity_phases=_names(tortuosity), sizes=sizes,
                                 directions=dirs, tol=tol, inputs=[volume], stage=partial(progress, quiet=json))
    if json:
        emit_json(res)
        return
    _print_metrics(res)
    print_warnings(res.warnings)


def _q(q: Any, spec: str = ".4g") -> str:
    """``value ± uncertainty unit`` with the unit left out when dimensionless."""
    text = f"{q.value:{spec}}" if q.uncertainty is None else f"{q.value:{spec}} ± {q.uncertainty:.2g}"
    return text if q.unit == "1" else f"{text} {q.unit}"


def _print_metrics(res: Any) -> None:
    for name, p in res["phases"].items():
        line = f"{name}: ε = {_q(p['volume_fraction'], '.4f')}"
        if "specific_surface_area_per_um" in p:
            line += (f", SSA = {_q(p['specific_surface_area_per_um'])} (marching cubes; "
                     f"face count {p['face_count_area_per_um'].value:.4g})")
        console.print(line, highlight=False)
        for d, t in (p.get("tortuosity") or {}).items():
            tau = t["tortuosity"]
            console.print(f"  τ {d}: " + ("— (" + t["reason"] + ")" if tau is None else _q(tau)), highlight=False)
        if "local_thickness_um" in p:
            lt = p["local_thickness_um"]
            console.print(f"  local thickness d10/d50/d90 = {lt['d10']:.3g}/{lt['d50']:.3g}/{lt['d90']:.3g} µm",
                          highlight=False)
    for k, v in (res.values.get("interfacial_area_per_um") or {}).items():
        console.print(f"{k}: interfacial area {_q(v)} (marching cubes)", highlight=False)
    if "tpb_density_per_um2" in res.values:
        console.print(f"TPB density {_q(res['tpb_density_per_um2'])}", highlight=False)
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
    from ionscope.model.result import Quantity

    dirs = _names(directions) or []
    res = transport_properties(_load(volume, phases, spacing), _coefficients(coefficients), unit=unit,
                               directions=dirs, electrode_axis=electrode_axis, tol=tol, source=volume,
                               stage=partial(progress, quiet=json))
    values = res.values
    if json:
        emit_json(res)
        return
    for d in dirs:
        v = values[d]
        if v["effective"] is None:
            console.print(f"{d}: — ({v['reason']})", highlight=False)
            continue
        extra = f", τ = {v['tortuosity']:.4g}, MacMullin = {v['macmullin']:.4g}" if "macmullin" in v else ""
        console.print(f"{d}: effective {v['effective']:.4g}{extra}", highlight=False)
    if isinstance(values.get("electrode_tortuosity"), Quantity):
        console.print(f"electrode tortuosity factor ({electrode_axis}): {values['electrode_tortuosity']:.4g}",
                      highlight=False)
    print_warnings(res.warnings)


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
    lab = _load(volume, phases, spacing)
    ph = analysis_phases(lab).phases
    with progress("microstructure parameters", None, quiet=json):
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
                                                      "two-point functions (minutes on 2 cores); anneal: grf "
                                                      "refined by simulated annealing on two-point and lineal-"
                                                      "path functions (up to 64³); slicegan: a "
                                                      "3-D GAN trained on 2-D slices (PyTorch, ionscope[ml]; "
                                                      "hours on a CPU, use a GPU)")] = "grf",
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
    from ionscope.cli.tomo import write_stack
    from ionscope.io.atomic import check_writable
    from ionscope.micro.generate import (
        anisotropic_section_statistics,
        compare_statistics,
        generate_anisotropic,
        section_representativity,
        section_statistics,
    )
    from ionscope.micro.generate import generate as run
    from ionscope.micro.phases import label_volume
    from ionscope.model.errors import ValidationError
    from ionscope.model.provenance import make_provenance
    from ionscope.model.result import Quantity, Result

    dims = _shape(size, shape)
    check_writable(out, force)
    planes = {k: p for k, p in (("xy", xy), ("xz", xz), ("yz", yz)) if p is not None}
    loaded, sources, ph = _generate_inputs(image, planes, method, spacing, grey_phases, phases)
    arr, sp = next(iter(loaded.values()))
    if iterations < 1:
        raise ValidationError(f"--iterations must be at least 1, got {iterations}")
    if sweeps <= 0:
        raise ValidationError(f"--sweeps must be positive, got {sweeps}")
    total = {"slicegan": iterations, "anneal": 10}.get(method)
    with progress(f"generating ({method})", total, quiet=json) as task:
        def report(done: int, total: int, loss: float) -> None:
            what = "iteration" if method == "slicegan" else "annealing stage"
            name = "Wasserstein estimate" if method == "slicegan" else "energy"
            task.update(description=f"{what} {done}/{total}, {name} {loss:.3g}")
            task.advance()

        if planes:
            vol, info = generate_anisotropic({k: v[0] for k, v in loaded.items()}, ph, dims, r_max=range_px,
                                             seed=seed, paths=planes, method=method, sweeps=sweeps,
                                             progress=report)
        else:
            vol, info = run(arr, ph, dims, method=method, r_max=range_px, seed=seed, path=image, device=device,
                            iterations=iterations, sweeps=sweeps, progress=report)
    r = info["two_point_range_px"]
    with progress("statistics of the image and the volume", None, quiet=json):
        if planes:
            ref = anisotropic_section_statistics({k: v[0] for k, v in loaded.items()}, ph, sp, r_max=min(r, 32))
        else:
            ref = section_statistics(arr if arr.ndim == 3 else arr[None], ph, sp, axes=(1, 2), r_max=min(r, 32))
        gen = section_statistics(vol, ph, sp, axes=(0, 1, 2), r_max=min(r, 32))
        rep = section_representativity([v[0] for v in loaded.values()] if planes else arr, ph)
    diff = compare_statistics(ref, gen)
    lab = label_volume(vol, ph, sp, provenance=make_provenance("ionscope.micro.generate", inputs=list(sources.values()),
                                                               parameters={
        "method": method, "shape": list(dims), "seed": seed, "two_point_range_px": r, "order": info["order"],
        "couplings": info.get("couplings", []), **({"stretch_zyx": info["stretch_zyx"]} if planes else {}),
        **({"slicegan": info["parameters"]} if method == "slicegan" else {})}))
    path = write_stack(lab, out, force, json)
    why_img = ("measured on the image as given; its representativity uncertainty could not be estimated "
               "(image too small for eight sub-squares)")
    why_gen = "one realisation; generate with other seeds for the spread between realisations"

    def _q(v: float, unit: str, why: str) -> Quantity:
        return Quantity(float(v), None, unit, why_no_uncertainty=why)

    def _block(st: dict, why: str, rep: dict | None = None) -> dict:
        def unc(k: str, key: str, value: float, unit: str, rel: bool) -> Quantity:
            u = (rep or {}).get(k, {}).get(key, float("nan"))
            if not math.isfinite(u):
                return _q(value, unit, why)
            return Quantity(float(value), float(u * value if rel else u), unit)

        return {k: {"volume_fraction": unc(k, "fraction_uncertainty", e["volume_fraction"], "1", False),
                    "specific_surface_area": unc(k, "boundary_relative_uncertainty",
                                                 e["specific_surface_area_per_um"], "µm^-1", True),
                    "mean_chord_length": {a: _q(c, "µm", why) for a, c in e["mean_chord_length_um"].items()},
                    "two_point": {a: Quantity(v, None, "1", why_no_uncertainty=why)
                                  for a, v in e["two_point"].items()}}
                for k, e in st.items()}

    values = {"output": str(path), "method": method, "shape": list(dims),
              "spacing": _q(sp, "µm", "the pixel size as given or recorded in the file"),
              "phase_order": info["order"], "image": _block(ref, why_img, rep), "generated": _block(gen, why_gen),
              "difference": {k: {m: _q(v, "1", why_gen) for m, v in d.items()} for k, d in diff.items()},
              "time": _q(info["seconds"], "s", "one wall-clock measurement")}
    if planes:
        values["stretch_zyx"] = info["stretch_zyx"]
    warnings = list(info["warnings"])
    if not planes and (arr.ndim == 2 or arr.shape[0] == 1):
        warnings.append("an isotropic structure is assumed: the 2-D section stands for every direction")
    res = Result("micro.generate", values, tuple(warnings), lab.attrs["provenance"])
    if json:
        emit_json(res)
        return
    console.print(f"wrote {path} ({'×'.join(map(str, dims))} voxels, {method}, {info['seconds']:.1f} s)",
                  highlight=False)
    if planes:
        console.print("stretch of the correlation along z, y, x: "
                      + " : ".join(f"{v:.2f}" for v in info["stretch_zyx"]), highlight=False)
    for k in ph:
        d = diff[k]
        console.print(f"{k}: ε {gen[k]['volume_fraction']:.4f} (image {ref[k]['volume_fraction']:.4f}), "
                      f"SSA {gen[k]['specific_surface_area_per_um']:.4g} µm^-1 "
                      f"({d['specific_surface_area_relative']:+.1%} vs the image's (4/π)·L_A), "
                      f"max |ΔS2| {d['two_point_max_abs']:.3f}, chord {d['mean_chord_length_relative']:+.1%}",
                      highlight=False)
    print_warnings(warnings)


def _generate_inputs(image: Path | None, planes: dict[str, Path], method: str, spacing: str | None,
                     grey_phases: int, phases: str | None) -> tuple[dict[str, Any], dict[str, Path], dict[str, int]]:
    """Load and check ``micro generate``'s input: one image or three sections, their pixel size and phases."""
    import numpy as np

    from ionscope.micro.phases import parse_phases
    from ionscope.model.errors import ValidationError

    if planes and image is not None:
        raise ValidationError("give either IMAGE or the sections --xy/--xz/--yz, not both")
    if planes and len(planes) < 3:
        raise ValidationError("anisotropic input needs all three sections --xy, --xz and --yz (missing "
                              + ", ".join(f"--{k}" for k in ("xy", "xz", "yz") if k not in planes) + ")")
    if planes and method not in ("grf", "anneal"):
        raise ValidationError(f"--xy/--xz/--yz work with --method grf or anneal, got {method!r}")
    if image is not None:
        sources = {"image": image}
    elif planes:
        sources = planes
    else:
        raise ValidationError("give a 2-D label image, or three sections with --xy, --xz and --yz")
    loaded = {k: _generate_input(p, spacing, grey_phases, max_slices=1 if planes else 16) for k, p in sources.items()}
    if planes:
        sizes = {k: v[1] for k, v in loaded.items()}
        if max(sizes.values()) > 1.01 * min(sizes.values()):
            raise ValidationError("the sections record different pixel sizes ("
                                  + ", ".join(f"--{k} {v:g} µm" for k, v in sizes.items())
                                  + "): resample them to one size, or give --spacing to state it")
    arr = next(iter(loaded.values()))[0]
    ph = parse_phases(phases) if phases is not None else {f"phase{int(v)}": int(v) for v in np.unique(arr)}
    for k, (a, _) in loaded.items():
        absent = [n for n, v in ph.items() if not (a == v).any()]
        if absent:
            raise ValidationError(f"phase {', '.join(absent)} does not occur in the image", path=sources[k])
    return loaded, sources, ph


def _generate_input(path: Path, spacing: str | None, grey_phases: int, max_slices: int) -> tuple[Any, float]:
    """A label image for ``micro generate`` and its pixel size (µm): grey images segmented by multi-Otsu."""
    import numpy as np

    from ionscope.cli.tomo import open_stack
    from ionscope.micro.phases import parse_length_um
    from ionscope.model.errors import ValidationError

    src = open_stack(path)
    arr = np.asarray(src.values)
    if arr.ndim == 3 and arr.shape[0] == 1 and max_slices == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[0] > max_slices:
        what = "one 2-D image" if max_slices == 1 else "a 2-D image or a few 2-D sections"
        raise ValidationError(f"{path.name} has {arr.shape[0]} slices: give {what}", path=path)
    sp: Any = parse_length_um(spacing) if spacing is not None else \
        (src.attrs.get("spacing_um") or [None] * 3)[-1]  # a length, or (z, y, x) lengths: the last is x
    if sp is None and "x" in src.dims and not str(src.attrs.get("pixel_size_source", "unknown")).startswith("unknown"):
        from ionscope.model.arrays import spacing_of

        sp = spacing_of(src, ("x",))[0]  # recorded in the file (e.g. TIFF resolution tags)
    if sp is None:
        raise ValidationError(f"{path.name} records no pixel size: give --spacing, e.g. 0.39um", path=path)
    sp = float(np.ravel(sp)[-1])
    if np.issubdtype(arr.dtype, np.floating) or len(np.unique(arr)) > 16:
        from skimage.filters import threshold_multiotsu

        arr = np.digitize(arr, threshold_multiotsu(arr, classes=grey_phases)).astype(np.uint8)
    return arr, sp


def _shape(size: int | None, shape: str | None) -> tuple[int, int, int]:
    import math

    from ionscope.model.errors import ValidationError

    if size is not None and shape is None:
        dims = (size, size, size)
    elif shape is not None and size is None:
        try:
            edges = [int(v) for v in shape.split(",")]
        except ValueError as exc:
            raise ValidationError(f"--shape must be Z,Y,X whole numbers, got {shape!r}") from exc
        if len(edges) != 3:
            raise ValidationError(f"--shape must be Z,Y,X, got {shape!r}")
        dims = (edges[0], edges[1], edges[2])
    else:
        raise ValidationError("give either --size N (cube edge) or --shape Z,Y,X")
    if min(dims) < 8 or math.prod(dims) > 1024**3:
        raise ValidationError(f"the volume {dims} must have every edge ≥ 8 voxels and at most 1024³ voxels")
    return dims
