"""``ionscope image``: ion images from imzML/BIF6/cubes, and raw GRD events binned to Zarr cubes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

import ionscope
from ionscope.cli.common import console, emit_json, naming, print_warnings, progress, show
from ionscope.cli.options import ForceOpt, JsonOpt, deprecated_spelling, renamed
from ionscope.imaging.summary import ion_image_summary
from ionscope.model.errors import ValidationError

NAME = "image"
app = typer.Typer(help="Ion images (imzML, BIF6, cubes) and raw-event binning (GRD → Zarr).", no_args_is_help=True)



def _peaks(text: str) -> list[float | str]:
    """Comma-separated m/z values or ion names (``7.016,^58Ni+,Li2F+``)."""
    out: list[float | str] = []
    for part in text.replace(";", ",").split(","):
        if part.strip():
            try:
                out.append(float(part))
            except ValueError:
                out.append(part.strip())
    if not out:
        raise ValidationError("--peaks is empty")
    return out


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValidationError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise ValidationError(f"{what} is empty")
    return values


TolerancePpmOpt = Annotated[Optional[float], typer.Option("--tolerance-ppm", help="Window half-width in ppm.")]
ToleranceOpt = Annotated[Optional[float], typer.Option("--tolerance", help="Window half-width in m/z.")]


def _tolerances(ppm: float | None, mz: float | None, tol_ppm: float | None, tol_da: float | None) -> dict:
    """The window half-widths from the options, accepting the old spellings --tol-ppm and --tol-da."""
    return {"tolerance_ppm": renamed(ppm, tol_ppm, old="--tol-ppm", new="--tolerance-ppm"),
            "tolerance_da": renamed(mz, tol_da, old="--tol-da", new="--tolerance")}


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(help="imzML, BIF6, a Zarr ion-image/hyperspectral store, or a flat "
                                              "pixels × channels .npz with its 'mz' and 'xy' (TRIFT export).")],
    peaks: Annotated[str, typer.Option("--peaks", help="m/z values or ion names, e.g. 7.016,^58Ni+,Li2F+.")],
    tolerance_ppm: TolerancePpmOpt = None,
    tolerance: ToleranceOpt = None,
    tol_ppm: Annotated[Optional[float], deprecated_spelling("--tol-ppm", "--tolerance-ppm")] = None,
    tol_da: Annotated[Optional[float], deprecated_spelling("--tol-da", "--tolerance")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the ion images (.zarr, .bif6, …).")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
    variable: Annotated[Optional[str], typer.Option("--variable", help="Array to use in a file holding several "
                                                                       "(.npz, Zarr group).")] = None,
    dims: Annotated[Optional[str], typer.Option("--dims", help="Names of that array's dimensions, in order, 'peak' "
                                                               "for the channel axis (e.g. y,x,peak).")] = None,
) -> None:
    """Extract ion images around PEAKS from FILE.

    A flat TRIFT / ION-TOF export converted to .npz (counts as pixels × channels, the channel masses
    'mz' and the image size 'xy') is read as y × x images of its channels, as `ionscope mva` reads it;
    each peak picks the channel whose centre lies within the tolerance.
    """
    from ionscope.imaging import ion_images

    if out is not None:  # an output no writer takes, or that is not ours to replace, is refused before the work
        from ionscope.io.registry import check_output

        check_output(out, force=force)
    mz = _peaks(peaks)
    with progress("ion images", quiet=json), naming(file):
        images = ion_images(ionscope.read(file), mz, **_tolerances(tolerance_ppm, tolerance, tol_ppm, tol_da),
                            variable=variable, dims=None if dims is None else dims.split(","))
    if out is not None:
        ionscope.write(images, out, force=force)
    result = ion_image_summary(images, out, "imaging.ion_images")
    if json:
        emit_json(result)
    else:
        unit = result["intensity_unit"]
        what = " (normalised intensity, not counts)" if unit in ("", "1") else ""
        for label, d in result["peaks"].items():
            console.print(f"m/z {label}: total {show(d['total_counts'])}, max {show(d['max_per_pixel'])} "
                          f"per pixel{what}", highlight=False)
        print_warnings(result.warnings)
        if out is not None:
            console.print(f"wrote {out}", highlight=False)


@app.command("bin-events")
def bin_events_cmd(
    grd: Annotated[Path, typer.Argument(help="IONTOF GRD raw-event file.")],
    out: Annotated[Path, typer.Option("--out", help="Output store (.zarr) or file.")],
    nx: Annotated[Optional[int], typer.Option("--nx", help="Pixels per row (default: the sidecar's).")] = None,
    ny: Annotated[Optional[int], typer.Option("--ny", help="Rows (default: the sidecar's).")] = None,
    k0: Annotated[Optional[float], typer.Option("--k0", help="Calibration time zero (channels; default: the "
                                                             "sidecar's).")] = None,
    sf: Annotated[Optional[float], typer.Option("--sf", help="Calibration scale factor (channels per √(m/z); "
                                                             "default: the sidecar's).")] = None,
    binning: Annotated[Optional[float], typer.Option("--binning", help="TOF channel binning (default: the "
                                                                       "sidecar's, else 1).")] = None,
    pixel_size: Annotated[Optional[str], typer.Option("--pixel-size", help="Pixel size with its unit, e.g. "
                                                                          "'0.39um' or '390nm' (default: the "
                                                                          "sidecar's).")] = None,
    pixel_size_um: Annotated[Optional[float], deprecated_spelling("--pixel-size-um", "--pixel-size")] = None,
    polarity: Annotated[Optional[str], typer.Option("--polarity", help="positive or negative: the common ions the "
                                                                       "calibration check looks for (default: the "
                                                                       "sidecar's, else both).")] = None,
    peaks: Annotated[Optional[str], typer.Option("--peaks", help="Comma-separated m/z values or ion names.")] = None,
    tolerance_ppm: TolerancePpmOpt = None,
    tolerance: ToleranceOpt = None,
    tol_ppm: Annotated[Optional[float], deprecated_spelling("--tol-ppm", "--tolerance-ppm")] = None,
    tol_da: Annotated[Optional[float], deprecated_spelling("--tol-da", "--tolerance")] = None,
    mz_bin: Annotated[Optional[float], typer.Option("--mz-bin", help="Instead of peaks: m/z bin width.")] = None,
    mz_range: Annotated[str, typer.Option("--mz-range", help="lo,hi m/z for --mz-bin.")] = "1,500",
    keep_scans: Annotated[bool, typer.Option("--keep-scans", help="Keep the scan axis (streamed to Zarr in "
                                                                  "scan blocks for scan-ordered files).")] = False,
    spatial_bin: Annotated[int, typer.Option("--spatial-bin", help="Sum b×b pixel blocks.")] = 1,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Histogram the events of GRD into ion images or a cube and store it (e.g. Zarr).

    GRD files state no calibration or raster: give --k0, --sf, --nx, --ny and --pixel-size, or keep
    them in a sidecar GRD.json beside the file (k0, sf, binning, nx, ny, pixel_size_um, polarity;
    see docs/formats.md), which these options then override. The calibration is tested on the first
    events: when the strongest time-of-flight peaks do not land on common ions (H⁺, C⁺, CH₃⁺, Na⁺, … /
    H⁻, C⁻, O⁻, OH⁻, …; Vickerman & Briggs 2013) more often than chance, a warning says so and, when
    the peaks determine one, suggests k0 and sf.
    """
    from ionscope.cli.common import quantity_option
    from ionscope.imaging import bin_events
    from ionscope.io.checks import require_file
    from ionscope.io.grd import read_grd, read_grd_sidecar, sidecar_path
    from ionscope.io.registry import check_output

    check_output(out, force=force)
    pixel_size = renamed(pixel_size, None if pixel_size_um is None else f"{pixel_size_um!r} um",
                         old="--pixel-size-um", new="--pixel-size")
    px = quantity_option(pixel_size, "--pixel-size", "µm", require_unit=True, positive=True)
    side = read_grd_sidecar(require_file(grd))
    missing = [flag for flag, key, given in (("--k0", "k0", k0), ("--sf", "sf", sf), ("--nx", "nx", nx),
                                             ("--ny", "ny", ny), ("--pixel-size", "pixel_size_um", px))
               if given is None and key not in side]
    if missing:
        raise ValidationError(f"{', '.join(missing)} needed: GRD files state no calibration, raster or pixel size "
                              f"(e.g. --pixel-size 0.39um), and there is no sidecar {sidecar_path(grd).name} "
                              "stating them", grd)
    table = read_grd(grd, k0=k0, sf=sf, binning=binning, nx=nx, ny=ny,
                     pixel_size_um=None if px is None else px.value, polarity=polarity)
    geo = table.geometry
    assert geo is not None  # nx and ny given or in the sidecar, checked above
    if (peaks is None) == (mz_bin is None):
        raise ValidationError("give either --peaks (with --tolerance-ppm or --tolerance) or --mz-bin")
    kwargs: dict = {"keep_scans": keep_scans, "spatial_bin": spatial_bin}
    if peaks is not None:
        kwargs.update(peaks=_peaks(peaks), **_tolerances(tolerance_ppm, tolerance, tol_ppm, tol_da))
    elif mz_bin is not None:  # exactly one of the two, checked above
        from ionscope.io.grd import mz_bin_edges

        lo, hi = _floats(mz_range, "--mz-range")[:2]
        kwargs["mz_edges"] = mz_bin_edges(grd, (lo, hi), float(mz_bin), geo.nx * geo.ny)
    with progress(f"binning {grd.name}", total=len(table), quiet=json) as task:
        if keep_scans and out.suffix.lower() == ".zarr":
            from ionscope.imaging import bin_events_to_zarr

            kwargs.pop("keep_scans")
            bin_events_to_zarr(table, out, force=force, on_chunk=task.advance, **kwargs)
            cube = ionscope.read(out)
        else:
            cube = bin_events(table, on_chunk=task.advance, **kwargs)
            ionscope.write(cube, out, force=force)
    result = ion_image_summary(cube, out, "imaging.bin_events")
    if json:
        emit_json(result)
    else:
        console.print(f"{cube.attrs['events_counted']} of {cube.attrs['events_total']} events binned; wrote {out}")
        print_warnings(result.warnings)
