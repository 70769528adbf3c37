"""``ionscope tomo``: FIB-SEM stack correction (align, destripe, segment)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import xarray as xr

from ionscope.cli.common import console, dask_progress, emit_json, progress
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import describe_input
from ionscope.model.result import Quantity, Result

NAME = "tomo"
app = typer.Typer(help="FIB-SEM serial-section stacks: slice alignment, curtaining removal, segmentation.")

Stack = Annotated[Path, typer.Argument(help="TIFF stack, folder of TIFF slices, .zip of either, or .zarr")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output stack (.zarr or .tif)")]
Pixel = Annotated[str | None, typer.Option("--pixel-size", help="In-plane pixel size, e.g. 10nm")]
Thick = Annotated[str | None, typer.Option("--slice-thickness", help="FIB slice thickness, e.g. 20nm")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing output")]
Json = Annotated[bool, typer.Option("--json", help="Print a JSON object")]


def open_stack(path: Path, pixel: str | None = None, thick: str | None = None) -> xr.DataArray:
    from ionscope.io.tiff_stack import read_stack
    from ionscope.micro.phases import parse_length_um

    if path.suffix == ".zarr":
        from ionscope.io.zarr_store import load

        return load(path)  # type: ignore[return-value]
    from ionscope.cli.common import quantity_option

    px = quantity_option(pixel, "--pixel-size", "µm", require_unit=True, positive=True)
    dz = quantity_option(thick, "--slice-thickness", "µm", require_unit=True, positive=True)
    return read_stack(path, pixel_size_um=parse_length_um(px.value) if px else None,
                      slice_thickness_um=parse_length_um(dz.value) if dz else None)


def write_stack(vol: xr.DataArray, out: Path, force: bool, quiet: bool) -> Path:
    with dask_progress(f"writing {out.name}", quiet=quiet):
        if out.suffix == ".zarr":
            from ionscope.io.zarr_store import save

            return save(vol, out, force=force)
        if out.suffix.lower() not in (".tif", ".tiff"):
            raise ValidationError(f"output must end in .zarr, .tif or .tiff, got {out.name}")
        import tifffile

        from ionscope.io.atomic import atomic_path

        data = np.asarray(vol.values)
        sp = vol.attrs.get("spacing_um") or [1.0, 1.0, 1.0]
        with atomic_path(out, force=force) as tmp:
            tifffile.imwrite(tmp, data, imagej=data.dtype in (np.uint8, np.uint16, np.float32),
                             resolution=(1 / sp[2], 1 / sp[1]),
                             metadata={"spacing": sp[0], "unit": "um", "axes": "ZYX"})
        return out


def _finish(result: Result, json: bool) -> None:
    if json:
        from ionscope.model.result import suffixed_to_quantities

        values = {k: v for k, v in result.values.items() if k not in ("input", "drift_px")}
        emit_json(Result(result.kind, suffixed_to_quantities(
            values, "phase correlation gives no error estimate; its resolution is 1/upsample pixel"),
            result.warnings, result.provenance))
    else:
        for k, v in result.values.items():
            if not isinstance(v, list):
                console.print(f"{k}: {v}")


def _fiducial(text: str | None) -> tuple[slice, slice] | None:
    if not text:
        return None
    try:
        y, x = (tuple(int(v) for v in part.split(":")) for part in text.split(","))
        return slice(*y), slice(*x)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"--fiducial must look like Y0:Y1,X0:X1 (pixels), got {text!r}") from exc


@app.command()
def align(stack: Stack, out: Out, reference: Annotated[str, typer.Option(help="previous|median|first")] = "previous",
          transform: Annotated[str, typer.Option(help="translation|rigid|affine")] = "translation",
          fiducial: Annotated[str | None, typer.Option(help="Register on a region Y0:Y1,X0:X1 (px)")] = None,
          window: Annotated[int, typer.Option(help="Slices in the running median (--reference median)")] = 5,
          upsample: int = 20, pixel_size: Pixel = None, slice_thickness: Thick = None, force: Force = False,
          json: Json = False) -> None:
    """Align slices (translation, rigid or affine); report drift and rotation curves."""
    from ionscope.tomo.align import align_stack

    vol = open_stack(stack, pixel_size, slice_thickness)
    with progress(f"registering {vol.sizes.get('z', 0)} slices ({transform})", quiet=json):
        aligned, res = align_stack(vol, transform=transform, reference=reference, window=window, upsample=upsample,
                                   fiducial=_fiducial(fiducial))
    path = write_stack(aligned, out, force, json)
    _finish(Result(res.kind, {**res.values, "output": str(path), "input": describe_input(stack)}, res.warnings,
                   res.provenance), json)


@app.command()
def destripe(stack: Stack, out: Out, method: Annotated[str, typer.Option(help="wavelet-fft|wedge")] = "wavelet-fft",
             levels: int = 3, sigma: float = 1.0, pixel_size: Pixel = None, slice_thickness: Thick = None,
             force: Force = False, json: Json = False) -> None:
    """Remove curtaining stripes (Münch wavelet–FFT filter or FFT wedge)."""
    from ionscope.tomo.destripe import destripe as run

    vol = open_stack(stack, pixel_size, slice_thickness)
    res = run(vol, method=method, levels=levels, sigma=sigma)
    path = write_stack(res, out, force, json)
    _finish(Result("tomo.destripe", {"output": str(path), "input": describe_input(stack)}, (),
                   res.attrs["provenance"]), json)


@app.command()
def segment(stack: Stack, out: Out,
            phases: Annotated[str, typer.Option(help="Phase names darkest first, e.g. pore,cbd,nmc")] = "pore,solid",
            denoise_um: Annotated[float, typer.Option(help="Gaussian σ in µm before thresholding (0: none)")] = 0.0,
            pixel_size: Pixel = None, slice_thickness: Thick = None, force: Force = False, json: Json = False) -> None:
    """Multi-Otsu segmentation into named phases; writes a label volume."""
    from ionscope.micro.fractions import volume_fractions
    from ionscope.tomo.correct import gaussian_denoise
    from ionscope.tomo.segment import multi_otsu_segment

    names = [p.strip() for p in phases.split(",") if p.strip()]
    vol = open_stack(stack, pixel_size, slice_thickness)
    if denoise_um > 0:
        vol = gaussian_denoise(vol, denoise_um)
    lab = multi_otsu_segment(vol, names)
    with dask_progress("segmenting", quiet=json):
        lab = lab.load()
    path = write_stack(lab, out, force, json)
    ph = lab.attrs["phases"]
    _finish(Result("tomo.segment", {"output": str(path), "phases": ph, "thresholds": lab.attrs["thresholds"],
                                    "volume_fraction": volume_fractions(lab.values, ph),
                                    "input": describe_input(stack)}, (), lab.attrs["provenance"]), json)


@app.command()
def correct(stack: Stack, out: Out,
            tilt: Annotated[float, typer.Option(help="Angle between the SEM column and the milled face, "
                                                     "degrees")] = 52.0,
            keep_shear: Annotated[bool, typer.Option(help="Keep the per-slice vertical shift (already aligned "
                                                          "on a fiducial)")] = False,
            pixel_size: Pixel = None, slice_thickness: Thick = None, force: Force = False, json: Json = False) -> None:
    """FIB-SEM view geometry: y pixel size ÷ sin(tilt) and removal of the t·cos(tilt) shift per slice."""
    from ionscope.tomo.geometry import correct_view_geometry

    vol = open_stack(stack, pixel_size, slice_thickness)
    res = correct_view_geometry(vol, angle_deg=tilt, remove_shear=not keep_shear)
    path = write_stack(res, out, force, json)
    why = "follows from the nominal tilt and voxel size as given, whose uncertainties are not known"
    shear = res.attrs["provenance"]["parameters"]["shear_px_per_slice"]
    _finish(Result("tomo.correct", {"output": str(path), "tilt": Quantity(tilt, None, "deg", why_no_uncertainty=why),
                                    "spacing": Quantity(list(res.attrs["spacing_um"]), None, "µm",
                                                        why_no_uncertainty=why),
                                    "shear_per_slice": Quantity(shear, None, "px", why_no_uncertainty=why),
                                    "input": describe_input(stack)}, (), res.attrs["provenance"]), json)
