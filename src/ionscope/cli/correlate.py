"""``ionscope correlate``: register SEM, EDS and SIMS images in µm and carry labels across."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from ionscope.cli.common import (
    console,
    emit_json,
    figure_written,
    naming,
    print_warnings,
    progress,
    quantity_option,
    show,
)
from ionscope.model.errors import ValidationError

NAME = "correlate"
app = typer.Typer(help="Correlative microscopy: register a coarse image (SIMS, EDS) onto a fine one (SEM) in µm, "
                       "transfer labels, overlay.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print a JSON object.")]
Force = Annotated[bool, typer.Option("--force", help="Replace existing outputs.")]
ForcePair = Annotated[bool, typer.Option("--force-pair", help="Apply the transform to files whose SHA-256 differs "
                                                              "from the registered pair (same shapes required).")]
SpeciesOpt = Annotated[Optional[str], typer.Option("--species", help="Comma-separated channels of the moving "
                                                                      "image to use (default: all).")]


def _species(text: str | None) -> list[str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValidationError("--species is empty")
    return parts


def _read(path: Path):
    from ionscope.correlate.pipeline import read_image

    return read_image(path)


def _phases(text: str | None) -> dict[str, int] | None:
    """``name=value`` pairs (``electrolyte=0,cathode=1``) naming the labels."""
    if text is None:
        return None
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = int(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValidationError(f"--phases needs name=integer pairs separated by commas, got {part!r}")
    return out


def _identity(path: Path) -> tuple[str, str]:
    from ionscope.model.provenance import sha256_of

    return sha256_of(path), str(path)


def _check_writable(path: Path | None, force: bool, option: str = "--out", *, store: bool = False) -> None:
    """Refuse, before any work, an output file (or Zarr ``store``) that exists without --force or that
    --force must not replace (a folder that is not an output of ours)."""
    if path is None:
        return
    if store:
        from ionscope.io.zarr_store import check_store_output

        check_store_output(path, force)
        return
    from ionscope.cli.common import check_output_file

    check_output_file(path, force, None, option)


@app.command(name="register")
def register_pair(
    fixed: Annotated[Path, typer.Argument(help="Fine image (SEM/BSE/SE TIFF or any 2-D image ionscope reads).")],
    moving: Annotated[Path, typer.Argument(help="Coarse image: ion images (Zarr, imzML, BIF6…), an EDS map.")],
    out: Annotated[Path, typer.Option("--out", help="Transform JSON to write (maps MOVING µm → FIXED µm).")],
    model: Annotated[str, typer.Option("--model", help="similarity (shift, rotation, scale) or affine.")
                     ] = "similarity",
    species: SpeciesOpt = None,
    landmarks: Annotated[Optional[Path], typer.Option(
        "--landmarks", help="CSV of landmark pairs (fixed_x_um, fixed_y_um, moving_x_um, moving_y_um; for a 3-D "
                            "pair also fixed_z_um, moving_z_um) to start the search.")] = None,
    landmarks_only: Annotated[bool, typer.Option("--landmarks-only", help="Fit the transform to the landmarks "
                                                                          "alone.")] = False,
    bspline: Annotated[int, typer.Option("--bspline", help="B-spline refinement with this many control points per "
                                                           "side (0: none).", min=0, max=64)] = 0,
    fixed_pixel_size: Annotated[Optional[str], typer.Option(
        "--fixed-pixel-size", help="Pixel size of FIXED with its unit ('10nm'), if the file lacks it.")] = None,
    moving_pixel_size: Annotated[Optional[str], typer.Option(
        "--moving-pixel-size", help="Pixel size of MOVING with its unit ('0.4um'), if the file lacks it.")] = None,
    fixed_slice_thickness: Annotated[Optional[str], typer.Option(
        "--fixed-slice-thickness", help="3-D: slice thickness of the FIXED volume with its unit ('20nm'), if the "
                                        "file lacks it.")] = None,
    rate: Annotated[Optional[str], typer.Option(
        "--rate", help="3-D: sputter rate with its unit ('0.8nm/s') giving the nominal depth of a MOVING cube "
                       "without a depth axis.")] = None,
    depth_scale_range: Annotated[float, typer.Option(
        "--depth-scale-range", help="3-D: search the depth scale within [1/R, R] times the nominal calibration.",
        min=1.01, max=10.0)] = 1.5,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Re-registrations of Poisson-resampled counts for a "
                                                               "bootstrap TRE (0: none).", min=0, max=1000)] = 0,
    export_itk: Annotated[Optional[Path], typer.Option("--export-itk", help="Also write an ITK transform file "
                                                                            "(.tfm) for elastix/ITK.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of sampling and bootstrap.")] = 0,
    force: Force = False,
    json: Json = False,
) -> None:
    """Register MOVING onto FIXED by mutual information (or landmarks): transform in µm and its TRE.

    A FIB-SEM volume (FIXED) and a depth-calibrated SIMS cube (MOVING) are registered in 3-D with a
    fitted depth scale (the sputter-rate calibration's error) and its uncertainty."""
    from ionscope.correlate.pipeline import read_landmarks, register_images

    if model not in ("similarity", "affine"):
        raise ValidationError(f"--model must be similarity or affine, got {model!r}")
    _check_writable(out, force)
    _check_writable(export_itk, force, "--export-itk")
    fpx = quantity_option(fixed_pixel_size, "--fixed-pixel-size", "µm", require_unit=True, positive=True)
    mpx = quantity_option(moving_pixel_size, "--moving-pixel-size", "µm", require_unit=True, positive=True)
    fdz = quantity_option(fixed_slice_thickness, "--fixed-slice-thickness", "µm", require_unit=True, positive=True)
    rq = quantity_option(rate, "--rate", "nm/s", require_unit=True, positive=True)
    lms = None
    if landmarks is not None:
        pairs = read_landmarks(landmarks)
        lms = (pairs["moving"], pairs["fixed"])
    f_da = _read(fixed)
    m_da = _read(moving)
    from ionscope.correlate.pipeline import check_grids
    from ionscope.correlate.pipeline3d import DepthOptions

    with naming(fixed):
        check_grids(f_da, m_da, "fixed", fpx and fpx.value, fdz and fdz.value, rq and rq.value)
    with naming(moving):
        check_grids(f_da, m_da, "moving", mpx and mpx.value, fdz and fdz.value, rq and rq.value)
    with progress("correlate register", quiet=json) as task:
        with naming(moving):
            registration = register_images(
                f_da, m_da, model=model, species=_species(species), fixed_pixel_um=fpx and fpx.value,
                moving_pixel_um=mpx and mpx.value, landmarks=lms, landmarks_only=landmarks_only, bspline_mesh=bspline,
                bootstrap=bootstrap, seed=seed, fixed_id=_identity(fixed), moving_id=_identity(moving),
                on_stage=lambda name: task.update(description=f"correlate register: {name}"),
                depth_options=DepthOptions(fdz and fdz.value, rq and rq.value, depth_scale_range))
    ct, result = registration["transform"], registration["summary"]
    ct.save(out)
    if export_itk is not None:
        ct.export_itk(export_itk)
    values = dict(result.values)
    values["output"] = str(out)
    values["itk_file"] = None if export_itk is None else str(export_itk)
    from ionscope.model.result import Result

    result = Result(result.kind, values, warnings=result.warnings)
    if json:
        emit_json(result)
        return
    from ionscope.model.result import Quantity

    tab = Table("quantity", "value", box=None)
    keys = ("rotation", "scale", "depth_scale", "depth_step", "metric", "tre", "tre_voxels") \
        if values.get("ndim") == 3 else ("rotation", "scale", "metric", "tre", "tre_pixels")
    for key in keys:
        tab.add_row(key, show(values[key]))
    c = values["moving_centre_in_fixed"]
    unc = c.uncertainty or [None] * len(c.value)
    tab.add_row("moving centre in fixed", ", ".join(show(Quantity(v, u, c.unit)) for v, u in zip(c.value, unc)))
    if "tre_bootstrap" in values:
        tab.add_row("tre (bootstrap)", show(values["tre_bootstrap"]))
    tab.add_row("TRE from", str(values["tre_method"]))
    console.print(tab)
    console.print(f"wrote {out}" + (f" and {export_itk}" if export_itk else ""), highlight=False)
    print_warnings(result.warnings)


@app.command()
def transfer(
    labels: Annotated[Path, typer.Argument(help="Label image on the FIXED grid (phases, particles, bands).")],
    images: Annotated[Path, typer.Argument(help="The MOVING data the transform was made for (ion images, cube).")],
    transform: Annotated[Path, typer.Option("--transform", help="Transform JSON from `correlate register`.")],
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write the per-label table as CSV.")] = None,
    resampled: Annotated[Optional[Path], typer.Option("--resampled", help="Write MOVING resampled onto the FIXED "
                                                                          "grid (Zarr).")] = None,
    phases: Annotated[Optional[str], typer.Option("--phases", help="Names of the label values, e.g. "
                                                                   "'electrolyte=0,cathode=1,cbd=2'.")] = None,
    force_pair: ForcePair = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the registration-uncertainty draws.")] = 0,
    force: Force = False,
    json: Json = False,
) -> None:
    """Mean counts per pixel, totals and uncertainty (Poisson + registration) of MOVING in each label."""
    from ionscope.correlate.pipeline import transfer as do_transfer
    from ionscope.correlate.transform import check_image, load_transform
    from ionscope.model.provenance import sha256_of

    _check_writable(csv, force, "--csv")
    _check_writable(resampled, force, "--resampled", store=True)
    ct = load_transform(transform)
    lab = _read(labels)
    names = _phases(phases)
    if names is not None:
        lab.attrs["phases"] = names
    m_da = _read(images)
    check_image(ct.fixed, "fixed (label)", _shape(lab, ct.ndim, ("z", "y", "x")), None, labels, force_pair)
    check_image(ct.moving, "moving", _shape(m_da, ct.ndim, ("scan", "y", "x")), sha256_of(images), images,
                force_pair)
    with progress("correlate transfer", quiet=json), naming(labels):
        outcome = do_transfer(lab, m_da, ct, seed=seed)
    result, table = outcome["summary"], outcome["table"]
    if csv is not None:
        import pandas as pd

        from ionscope.io.atomic import write_text

        write_text(csv, pd.DataFrame(table["rows"]).to_csv(index=False), force=force)
    if resampled is not None:
        _write_resampled(m_da, ct, resampled, force)
    values = {**result.values, "csv": None if csv is None else str(csv),
              "resampled": None if resampled is None else str(resampled)}
    from ionscope.model.result import Result

    result = Result(result.kind, values, warnings=result.warnings)
    if json:
        emit_json(result)
        return
    tab = Table("label", "channel", "mean counts/pixel", "total counts", box=None)
    for name, entry in values["labels"].items():
        for ch, q in entry.get("species", {}).items():
            tab.add_row(name, ch, show(q.get("mean_per_pixel", q.get("mean_per_voxel"))), show(q["total"]))
    console.print(tab)
    print_warnings(result.warnings)
    for path in (csv, resampled):
        if path is not None:
            console.print(f"wrote {path}", highlight=False)


def _shape(da, ndim: int, dims3: tuple[str, str, str]) -> tuple[int, ...]:
    """The grid shape of ``da`` to compare with a transform's record: (y, x), or (z|scan, y, x) in 3-D."""
    dims = dims3 if ndim == 3 else ("y", "x")
    if not all(d in da.dims for d in dims):
        return tuple(da.shape)
    return tuple(int(da.sizes[d]) for d in dims)


def _write_resampled(m_da, ct, path: Path, force: bool) -> None:
    import numpy as np

    if ct.ndim == 3:
        import ionscope
        from ionscope.correlate.pipeline3d import resample_cube

        ionscope.save(resample_cube(m_da, ct), path, force=force)
        return

    import ionscope
    from ionscope.correlate.grid import channels_of
    from ionscope.correlate.transfer import resample_to_fixed
    from ionscope.model.arrays import coord, labelled, pixel_axis

    ch = channels_of(m_da)
    chans, names, other = ch["channels"], ch["names"], ch["other_dims"]
    out = resample_to_fixed(chans, ct.moving.grid, ct.fixed.grid, ct.itk())
    g = ct.fixed.grid
    coords = {"y": coord("y", g.origin_um[0] + np.arange(g.shape[0]) * g.pixel_um[0], "µm"),
              "x": coord("x", g.origin_um[1] + np.arange(g.shape[1]) * g.pixel_um[1], "µm")}
    del pixel_axis
    attrs = {"resampled_from": str(ct.moving.path), "note": "counts per MOVING pixel, bilinear on the FIXED grid"}
    if other in (("peak",), ("element",)):
        import xarray as xr

        coords[other[0]] = xr.Variable(other[0], np.asarray(names, dtype=str))
        kind = "ion_image" if other == ("peak",) else "element_map"
        da = labelled(out.astype(np.float32), kind, coords=coords, units="counts", attrs=attrs)
    elif not other:
        da = labelled(out[..., 0].astype(np.float32), "image", coords=coords, units="counts", attrs=attrs)
    else:
        raise ValidationError(f"--resampled supports images and ion images (y, x, peak), not dims {tuple(m_da.dims)}")
    ionscope.save(da, path, force=force)


@app.command()
def overlay(
    fixed: Annotated[Path, typer.Argument(help="Fine image (SEM).")],
    moving: Annotated[Path, typer.Argument(help="Coarse image (ion images).")],
    transform: Annotated[Path, typer.Option("--transform", help="Transform JSON from `correlate register`.")],
    out: Annotated[Path, typer.Option("--out", help="Figure to write (.png, .pdf, .svg).")],
    species: SpeciesOpt = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Opacity of the ion colours, 0–1.", min=0.0, max=1.0)
                     ] = 0.5,
    force_pair: ForcePair = False,
    force: Force = False,
    json: Json = False,
) -> None:
    """SEM in grey with up to three species in red, green, blue on top (registered)."""
    from ionscope.correlate.overlay import overlay_figure
    from ionscope.correlate.transform import check_image, load_transform
    from ionscope.model.provenance import sha256_of

    _check_writable(out, force)
    ct = load_transform(transform)
    if ct.ndim == 3:
        raise ValidationError("overlays are drawn for 2-D transforms only; this transform is 3-D", transform)
    f_da, m_da = _read(fixed), _read(moving)
    check_image(ct.fixed, "fixed", (f_da.sizes.get("y", 0), f_da.sizes.get("x", 0)), sha256_of(fixed), fixed,
                force_pair)
    check_image(ct.moving, "moving", (m_da.sizes.get("y", 0), m_da.sizes.get("x", 0)), sha256_of(moving), moving,
                force_pair)
    chosen = _species(species)
    with naming(out):
        overlay_figure(f_da, m_da, ct, out, species=chosen, alpha=alpha)
    if json:
        emit_json(_overlay_result(ct, m_da, out, chosen, alpha))
        return
    console.print(f"wrote {out}", highlight=False)


def _overlay_result(ct, moving, out: Path, species: list[str] | None, alpha: float):
    """What `correlate overlay` drew: the figure (path, SHA-256), the species per colour, the µm grid."""
    from ionscope.correlate.grid import channels_of
    from ionscope.model.result import NoUncertainty, Quantity, Result

    g = ct.fixed.grid
    why = NoUncertainty.given("the fixed image's grid as read from the file or declared at registration")
    shown = species or list(channels_of(moving)["names"])[:3]
    pixel: Any = [float(v) for v in g.pixel_um]  # a Quantity holds a value per axis
    extent: Any = [float(n * p) for n, p in zip(g.shape, g.pixel_um)]
    values = {**figure_written(out), "colours": dict(zip(("red", "green", "blue"), map(str, shown))),
              "alpha": float(alpha),
              "pixel_size": Quantity(pixel, None, "µm", why_no_uncertainty=why),
              "extent": Quantity(extent, None, "µm", why_no_uncertainty=why),
              "shape": [int(n) for n in g.shape]}
    return Result("correlate.overlay", values)


def view_pair(*paths: Path, transform: Path | None, landmarks_out: Path = Path("landmarks.csv"), port: int = 0,
              no_browser: bool = False, force_pair: bool = False, force: bool = False) -> None:
    """Serve the pair page (shared by ``correlate view`` and ``ionscope view FIXED MOVING --transform``).

    ``landmarks_out`` is checked before anything is read or served: a CSV name, not below a file, not a
    folder, and not an existing file unless ``force``; Save then replaces only the file this session
    wrote (or, with ``force``, the existing one).
    """
    from ionscope.cli.common import check_output_file
    from ionscope.viewer.correlate_view import pair_view, serve

    if len(paths) != 2:
        raise ValidationError(f"a correlative pair needs exactly two paths, FIXED MOVING; got {len(paths)}")
    check_output_file(landmarks_out, force, (".csv",), "--landmarks-out")
    view = pair_view(paths[0], paths[1], transform, landmarks_out, force_pair=force_pair, force=force)
    console.print(f"ionscope correlative viewer; landmarks are saved to {landmarks_out}", highlight=False)
    serve(view, port=port, open_browser=not no_browser)


@app.command()
def view(
    fixed: Annotated[Path, typer.Argument(help="Fine image (SEM).")],
    moving: Annotated[Path, typer.Argument(help="Coarse image (ion images, EDS maps).")],
    transform: Annotated[Optional[Path], typer.Option("--transform", help="Transform JSON: show the registered "
                                                                          "blend.")] = None,
    landmarks_out: Annotated[Path, typer.Option("--landmarks-out", help="Where Save writes the landmark CSV.")
                             ] = Path("landmarks.csv"),
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: a free one).", min=0, max=65535)] = 0,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the URL but do not open a browser.")
                          ] = False,
    force_pair: ForcePair = False,
    force: Force = False,
) -> None:
    """Show FIXED and MOVING in the browser: blend slider, landmark pairs clicked and saved as CSV.

    An existing --landmarks-out is refused at start-up unless --force is given; saving again in the same
    session replaces the file the session wrote. The CSV is written atomically."""
    view_pair(fixed, moving, transform=transform, landmarks_out=landmarks_out, port=port, no_browser=no_browser,
              force_pair=force_pair, force=force)
