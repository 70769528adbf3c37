"""``ionscope tomo``: FIB-SEM stack correction (align, destripe, segment) and trainable segmentation."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import xarray as xr

from ionscope.cli.common import (
    console,
    dask_progress,
    emit_json,
    naming,
    print_warnings,
    progress,
    quantity_option,
    show,
)
from ionscope.cli.options import ForceOpt, JsonOpt, deprecated_spelling, renamed
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import describe_input, make_provenance
from ionscope.model.result import NoUncertainty, Quantity, Result

NAME = "tomo"
app = typer.Typer(help="FIB-SEM serial-section stacks: slice alignment, curtaining removal, segmentation.")

Stack = Annotated[Path, typer.Argument(help="TIFF stack, folder of TIFF slices, .zip of either, or .zarr")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output stack (.zarr or .tif)")]
Pixel = Annotated[str | None, typer.Option("--pixel-size", help="In-plane pixel size, e.g. 10nm")]
Thick = Annotated[str | None, typer.Option("--slice-thickness", help="FIB slice thickness, e.g. 20nm")]


def open_stack(path: Path, pixel: str | None = None, thick: str | None = None) -> xr.DataArray:
    from ionscope.io.tiff_stack import read_stack
    from ionscope.micro.phases import parse_length_um

    if path.suffix == ".zarr":
        from ionscope.io.zarr_store import load_array

        return load_array(path, "image stack")
    from ionscope.cli.common import quantity_option

    px = quantity_option(pixel, "--pixel-size", "µm", require_unit=True, positive=True)
    dz = quantity_option(thick, "--slice-thickness", "µm", require_unit=True, positive=True)
    return read_stack(path, pixel_size_um=parse_length_um(px.value) if px else None,
                      slice_thickness_um=parse_length_um(dz.value) if dz else None)


def check_stack_output(out: Path, force: bool) -> Path:
    """Refuse, before any work, an output stack that is not .zarr/.tif/.tiff or that exists (without
    ``--force``), or a folder that is not a store of ours (:func:`ionscope.io.registry.check_output`)."""
    if out.suffix.lower() not in (".zarr", ".tif", ".tiff"):
        raise ValidationError(f"output must end in .zarr, .tif or .tiff, got {out.name}", out)
    from ionscope.io.registry import check_output

    check_output(out, force=force)
    return out


def write_stack(vol: xr.DataArray, out: Path, force: bool, quiet: bool) -> Path:
    """Write ``vol`` to ``out`` (.zarr, .tif or .tiff) through the format registry, with a progress bar."""
    check_stack_output(out, force)
    from ionscope.io import write

    with dask_progress(f"writing {out.name}", quiet=quiet):
        return write(vol, out, force=force)


def _finish(result: Result, json: bool, summary: list[str]) -> None:
    """The result as the JSON envelope, or as ``summary`` (lines for people) and its warnings."""
    if json:
        from ionscope.model.result import suffixed_to_quantities

        values = {k: v for k, v in result.values.items() if k not in ("input", "drift_px")}
        emit_json(Result(result.kind, suffixed_to_quantities(
            values, "phase correlation gives no error estimate; its resolution is 1/upsample pixel"),
            result.warnings, result.provenance))
    else:
        for line in [*summary, f"wrote {result['output']}"]:
            console.print(line, highlight=False)
        print_warnings(result.warnings)


def _largest(values: dict[str, Any], name: str, sigma: str | None, scale: Any, unit: str) -> Quantity:
    """The largest |value| of the per-slice curve ``name`` with the standard error of that same entry
    (``sigma`` curve, times ``scale`` into ``unit``; none for translation, whose phase correlation gives none)."""
    curve = np.abs(np.asarray(values[name], dtype=float))
    k = np.unravel_index(int(np.argmax(curve)), curve.shape)
    err = None if sigma is None or sigma not in values else float(
        (np.asarray(values[sigma], dtype=float) * scale)[k])
    return Quantity(float(curve[k]), err, unit)


def _align_summary(values: dict[str, Any], upsample: int) -> list[str]:
    """Slices, largest drift (µm) and rotation (deg) of an alignment, rounded by :func:`show`."""
    how = f"phase correlation, resolution 1/{upsample} px" if values["transform"] == "translation" else \
        values["transform"]
    px = np.asarray(values["drift_px"], dtype=float)
    um_per_px = np.divide(values["drift_um"], px, out=np.zeros_like(px), where=px != 0)
    drift = _largest(values, "drift_um", "drift_sigma_px", um_per_px, "µm")
    rotation = _largest(values, "rotation_deg", "rotation_sigma_deg", 1.0, "deg")
    return [f"aligned {values['slices']} slices ({how}): largest drift {show(drift)}, "
            f"largest rotation {show(rotation)}"]


def _fractions_summary(phases: dict[str, int], fractions: dict[str, Any], thresholds: list[float]) -> list[str]:
    """Volume fraction of every phase (label value in brackets) and the multi-Otsu thresholds (grey levels)."""
    cut = ", ".join(show(t) for t in thresholds)
    parts = ", ".join(f"{name} (label {phases[name]}) {show(fractions[name])}" for name in phases)
    return [f"segmented into {len(phases)} phases at grey-level thresholds {cut}", f"volume fractions: {parts}"]


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
          upsample: int = 20, pixel_size: Pixel = None, slice_thickness: Thick = None, force: ForceOpt = False,
          json: JsonOpt = False) -> None:
    """Align slices (translation, rigid or affine); report drift and rotation curves."""
    from ionscope.tomo.align import align_stack

    check_stack_output(out, force)
    vol = open_stack(stack, pixel_size, slice_thickness)
    with progress(f"registering {vol.sizes.get('z', 0)} slices ({transform})", quiet=json), naming(stack):
        res = align_stack(vol, transform=transform, reference=reference, window=window, upsample=upsample,
                          fiducial=_fiducial(fiducial))
    path = write_stack(res.aligned, out, force, json)
    drift = {k: v for k, v in res.values.items() if k != "aligned"}
    _finish(Result(res.kind, {**drift, "output": str(path), "input": describe_input(stack)}, res.warnings,
                   res.provenance), json, _align_summary(drift, upsample))


@app.command()
def destripe(stack: Stack, out: Out, method: Annotated[str, typer.Option(help="wavelet-fft|wedge")] = "wavelet-fft",
             levels: int = 3, sigma: float = 1.0, pixel_size: Pixel = None, slice_thickness: Thick = None,
             force: ForceOpt = False, json: JsonOpt = False) -> None:
    """Remove curtaining stripes (Münch wavelet–FFT filter or FFT wedge)."""
    from ionscope.tomo.destripe import destripe as run

    check_stack_output(out, force)
    vol = open_stack(stack, pixel_size, slice_thickness)
    with naming(stack):
        res = run(vol, method=method, levels=levels, sigma=sigma)
    path = write_stack(res, out, force, json)
    how = f"{levels} wavelet levels, σ {show(sigma)}" if method == "wavelet-fft" else "FFT wedge"
    _finish(Result("tomo.destripe", {"output": str(path), "input": describe_input(stack)}, (),
                   res.attrs["provenance"]), json,
            [f"removed curtaining stripes from {vol.sizes.get('z', 1)} slices of {stack.name} ({method}: {how})"])


def _read_labels(path: Path) -> tuple[np.ndarray, dict]:
    from ionscope.model.errors import IonscopeError

    try:
        da = open_stack(path)
        return np.asarray(da.values), dict(da.attrs)
    except IonscopeError:
        raise
    except Exception as exc:  # an unreadable label file is named with its reader's reason
        raise ValidationError(f"cannot read the label file ({exc})", path=path) from exc


@app.command()
def train(stack: Stack, labels: Annotated[Path, typer.Option(help="Sparse label volume of the stack's shape: 0 not "
                                                                  "labelled, 1…n the classes (scribbles or a few "
                                                                  "labelled slices)")],
          out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (e.g. model.ionseg)")],
          classes: Annotated[str | None, typer.Option(help="Class names for label values 1, 2, …, e.g. "
                                                           "pore,nmc,cbd (default: the names stored in the "
                                                           "label file, as `ionscope view` saves them)")] = None,
          learner: Annotated[str, typer.Option(help="random-forest (always available) or unet (PyTorch, "
                                                    "pip install 'ionscope\\[ml]')")] = "random-forest",
          trees: Annotated[int, typer.Option(help="Random forest: number of trees")] = 60,
          epochs: Annotated[int, typer.Option(help="U-Net: training epochs")] = 30,
          seed: Annotated[int, typer.Option(help="Random seed (sampling, initial weights)")] = 0,
          pixel_size: Pixel = None, slice_thickness: Thick = None, force: ForceOpt = False,
          json: JsonOpt = False) -> None:
    """Train a pixel classifier from sparse labels; the model file records classes, voxel size and inputs."""
    from ionscope.tomo.train import LEARNERS, parse_classes, save_model
    from ionscope.tomo.train import train as run

    if learner not in LEARNERS:
        raise ValidationError(f"--learner must be one of {', '.join(LEARNERS)}, got {learner!r}")
    if trees < 1 or epochs < 1:
        raise ValidationError("--trees and --epochs must be at least 1")
    from ionscope.io.atomic import check_writable

    check_writable(out, force)
    names = parse_classes(classes) if classes is not None else None
    vol = open_stack(stack, pixel_size, slice_thickness)
    lab, lab_attrs = _read_labels(labels)
    if names is None:  # a label file saved by the viewer names its classes
        if not lab_attrs.get("classes"):
            raise ValidationError("the label file names no classes; give them with --classes", path=labels)
        names = parse_classes(",".join(str(c) for c in lab_attrs["classes"]))
    from ionscope.tomo.train import check_labels

    lab = check_labels(vol.shape, lab, names, path=labels)
    steps = -(-trees // 10) if learner == "random-forest" else epochs
    unit = "trees ×10" if learner == "random-forest" else "epoch"
    kwargs = {"n_estimators": trees, "seed": seed} if learner == "random-forest" else {"epochs": epochs, "seed": seed}
    with progress(f"training {learner}", steps, quiet=json) as task:
        def report(done: int, total: int, loss: float) -> None:
            name = "hold-out error" if learner == "random-forest" else "loss"
            task.update(description=f"{unit} {done}/{total}, {name} {loss:.3g}")
            task.advance()

        model = run(vol, lab, names, learner=learner, progress=report,
                    inputs=[describe_input(stack), describe_input(labels)], **kwargs)
    path = save_model(model, out, force=force)
    why = "a training statistic on held-out labelled voxels; no uncertainty is estimated"
    hist = model.meta["loss_history"]
    pixel: Any = model.pixel_size_um  # an array Quantity (z, y, x): its value is a list
    values = {"output": str(path), "learner": learner, "classes": names,
              "labelled_voxels": model.meta["labelled_voxels"],
              "pixel_size": Quantity(pixel, None, "µm",
                                     NoUncertainty.given("the voxel size as given or recorded in the file"))
              if model.pixel_size_um else None,
              "final_loss": Quantity(hist[-1], None, "1", why_no_uncertainty=why) if hist else None,
              "training_time": Quantity(model.meta["training_seconds"], None, "s",
                                        why_no_uncertainty="one wall-clock measurement")}
    from ionscope.tomo.train import label_mismatch_warning

    mismatch = label_mismatch_warning(model.meta["parameters"])
    warns = (mismatch,) if mismatch else ()
    res = Result("tomo.train", values, warns, make_provenance("ionscope.tomo.train", inputs=[stack, labels],
                                                          parameters={"learner": learner, "classes": names,
                                                                      **model.meta["parameters"]}))
    if json:
        emit_json(res)
        return
    loss_name = "hold-out error" if learner == "random-forest" else "final loss"
    if mismatch:
        typer.echo(f"warning: {mismatch}", err=True)
    console.print(f"wrote {path} ({learner}, classes {', '.join(names)}; {loss_name} {hist[-1]:.3g}, "
                  f"{model.meta['training_seconds']:.1f} s)", highlight=False)


@app.command()
def segment(stack: Stack, out: Out,
            phases: Annotated[str, typer.Option(help="Multi-Otsu: phase names darkest first, e.g. "
                                                     "pore,cbd,nmc")] = "pore,solid",
            denoise: Annotated[str | None, typer.Option(help="Gaussian σ before thresholding, a length with its "
                                                             "unit, e.g. 50nm (default: none)")] = None,
            model: Annotated[Path | None, typer.Option(help="Trained model file (ionscope tomo train) instead "
                                                            "of multi-Otsu thresholds")] = None,
            probabilities: Annotated[Path | None, typer.Option(help="With --model: also write per-class "
                                                                    "probabilities and the uncertainty map "
                                                                    "(.zarr)")] = None,
            allow_pixel_size_mismatch: Annotated[bool, typer.Option(help="Apply a model trained at another "
                                                                         "voxel size")] = False,
            chunk: Annotated[int, typer.Option(help="With --model: slices per chunk of inference")] = 16,
            pixel_size: Pixel = None, slice_thickness: Thick = None, force: ForceOpt = False,
            json: JsonOpt = False,
            denoise_um: Annotated[float | None, deprecated_spelling("--denoise-um", "--denoise")] = None) -> None:
    """Segment into named phases by multi-Otsu thresholds or a trained model; writes a label volume."""
    from ionscope.micro.fractions import counted_fractions

    check_stack_output(out, force)
    if probabilities is not None:
        from ionscope.io.zarr_store import check_store_output

        check_store_output(probabilities, force)
    if model is not None:
        from ionscope.tomo.segment import segment_by_model

        res = segment_by_model(model, open_stack(stack, pixel_size, slice_thickness),
                               lambda lab: write_stack(lab, out, force, json), chunk_z=chunk,
                               probabilities=probabilities, allow_pixel_size_mismatch=allow_pixel_size_mismatch,
                               force=force, path=stack, stage=partial(dask_progress, quiet=json))
        if json:
            emit_json(Result(res.kind, {k: v for k, v in res.values.items() if k != "input"}, res.warnings,
                             res.provenance))
            return
        fr = ", ".join(f"{k} {show(v)}" for k, v in res["volume_fraction"].items())
        console.print(f"wrote {res['output']} ({res['learner']}): volume fractions {fr}; mean uncertainty "
                      f"{show(res['mean_uncertainty'])}", highlight=False)
        print_warnings(res.warnings)
        return
    if probabilities is not None:
        raise ValidationError("--probabilities needs --model (multi-Otsu gives no probabilities)")
    from ionscope.tomo.correct import gaussian_denoise
    from ionscope.tomo.segment import multi_otsu_segment

    names = [p.strip() for p in phases.split(",") if p.strip()]
    vol = open_stack(stack, pixel_size, slice_thickness)
    denoise = renamed(denoise, None if denoise_um is None else f"{denoise_um!r} um", old="--denoise-um",
                      new="--denoise")
    sigma = quantity_option(denoise, "--denoise", "µm", require_unit=True)
    if sigma is not None and sigma.value < 0:
        raise ValidationError(f"--denoise must not be negative, got {denoise!r}")
    if sigma is not None and sigma.value > 0:
        vol = gaussian_denoise(vol, sigma.value)
    with naming(stack):
        lab = multi_otsu_segment(vol, names)
    with dask_progress("segmenting", quiet=json), naming(stack):
        lab = lab.load()
    path = write_stack(lab, out, force, json)
    ph = lab.attrs["phases"]
    fractions = dict(counted_fractions(lab.values, ph).values)
    _finish(Result("tomo.segment", {"output": str(path), "phases": ph, "thresholds": lab.attrs["thresholds"],
                                    "volume_fraction": fractions,
                                    "input": describe_input(stack)}, (), lab.attrs["provenance"]), json,
            _fractions_summary(ph, fractions, lab.attrs["thresholds"]))


@app.command()
def correct(stack: Stack, out: Out,
            tilt: Annotated[float, typer.Option(help="Angle between the SEM column and the milled face, "
                                                     "degrees")] = 52.0,
            keep_shear: Annotated[bool, typer.Option(help="Keep the per-slice vertical shift (already aligned "
                                                          "on a fiducial)")] = False,
            pixel_size: Pixel = None, slice_thickness: Thick = None, force: ForceOpt = False,
            json: JsonOpt = False) -> None:
    """FIB-SEM view geometry: y pixel size ÷ sin(tilt) and removal of the t·cos(tilt) shift per slice."""
    from ionscope.tomo.geometry import correct_view_geometry

    check_stack_output(out, force)
    vol = open_stack(stack, pixel_size, slice_thickness)
    with naming(stack):
        res = correct_view_geometry(vol, angle_deg=tilt, remove_shear=not keep_shear)
    path = write_stack(res, out, force, json)
    why = "follows from the nominal tilt and voxel size as given, whose uncertainties are not known"
    shear = res.attrs["provenance"]["parameters"]["shear_px_per_slice"]
    spacing: Any = list(res.attrs["spacing_um"])  # an array Quantity (z, y, x): its value is a list
    _finish(Result("tomo.correct", {"output": str(path), "tilt": Quantity(tilt, None, "deg", why_no_uncertainty=why),
                                    "spacing": Quantity(spacing, None, "µm",
                                                        why_no_uncertainty=why),
                                    "shear_per_slice": Quantity(shear, None, "px", why_no_uncertainty=why),
                                    "input": describe_input(stack)}, (), res.attrs["provenance"]), json,
            [f"view geometry corrected for a {show(tilt, 'deg')} tilt: voxel size z, y, x "
             f"{', '.join(show(s) for s in spacing)} µm; "
             + (f"shear of {show(shear, 'px')} per slice removed" if not keep_shear else "shear kept")])
