"""Correlative workflows on ionscope arrays: register a pair, transfer labels, resample, landmarks."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ionscope.correlate.grid import (
    Grid,
    anscombe,
    channel_dim,
    channels_of,
    grid_of,
    looks_like_counts,
    registration_plane,
)
from ionscope.correlate.pipeline3d import DepthOptions
from ionscope.correlate.register import (
    NoOverlapError,
    bootstrap_tre,
    curvature_tre,
    landmark_fit,
    landmark_residual,
    landmark_tre,
    map_points,
    matrix_of,
    overlap_fraction,
    register_planes,
)
from ionscope.correlate.transfer import transfer_labels
from ionscope.correlate.transform import CONVENTION, CorrelativeTransform, ImageRecord
from ionscope.model.errors import FormatError, IonscopeError, ValidationError
from ionscope.model.result import NoUncertainty, Quantity, Result

LANDMARK_COLUMNS = ("fixed_x_um", "fixed_y_um", "moving_x_um", "moving_y_um")
#: Columns of 3-D landmark pairs (a FIB-SEM volume and a SIMS cube; z into the sample, µm).
LANDMARK_COLUMNS_3D = ("fixed_x_um", "fixed_y_um", "fixed_z_um", "moving_x_um", "moving_y_um", "moving_z_um")


def read_landmarks(path: str | PathLike[str]) -> Result:
    """Landmark pairs from a CSV with columns ``fixed_x_um, fixed_y_um, moving_x_um, moving_y_um``
    (physical µm in each image's coordinates, as ``ionscope view`` saves them), or with
    ``fixed_z_um`` and ``moving_z_um`` too for a 3-D pair (z: FIB-SEM depth and nominal SIMS depth).

    Returns
    -------
    Result
        ``kind="correlate.landmarks"``: ``moving`` and ``fixed``, (n, 2) or (n, 3) positions in µm, row
        *i* of each the same feature.
    """
    import pandas as pd

    p = Path(path)
    try:
        table = pd.read_csv(p, comment="#")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f"not a readable landmark CSV: {exc}", p) from None
    three = all(c in table.columns for c in LANDMARK_COLUMNS_3D)
    columns = LANDMARK_COLUMNS_3D if three else LANDMARK_COLUMNS
    missing = [c for c in LANDMARK_COLUMNS if c not in table.columns]
    if missing:
        raise FormatError(f"landmark CSV lacks column(s) {', '.join(missing)} (needs {', '.join(LANDMARK_COLUMNS)})",
                          p)
    values = table[list(columns)].to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise FormatError("landmark CSV holds non-numeric or missing positions", p)
    if len(values) < 3:
        raise FormatError(f"need at least 3 landmark pairs, the file has {len(values)}", p)
    k = len(columns) // 2
    return Result("correlate.landmarks", {"moving": values[:, k:], "fixed": values[:, :k]})


def read_image(path: str | PathLike[str]) -> xr.DataArray:
    """Read an image for correlative work (multi-page TIFFs with element page names as EDS maps)."""
    import ionscope
    from ionscope.io.eds import looks_like_eds

    p = Path(path)
    try:
        multipage_eds = p.is_file() and looks_like_eds(p)
        da = ionscope.read(p, format="eds-tiff" if multipage_eds else None)
    except IonscopeError as exc:
        if exc.path is None:
            exc.path, exc.args = str(p), (f"{p}: {exc.problem}",)
        raise
    if not hasattr(da, "dims") or "y" not in da.dims or "x" not in da.dims:
        raise ValidationError("not an image (no y and x dimensions)", p)
    return da


def check_grids(fixed: xr.DataArray, moving: xr.DataArray, which: str, pixel_um: float | None,
                slice_um: float | None = None, rate_nm_s: float | None = None) -> None:
    """Check, before registering, that image ``which`` ("fixed" or "moving") has (or is given) its pixel
    size — for a 3-D pair also the volume's slice thickness and the cube's depth calibration.

    Raises
    ------
    ValidationError
        The pair mixes a volume with a 2-D image, or a size is missing.
    """
    from ionscope.correlate.pipeline3d import is_volume_pair
    from ionscope.correlate.volume import cube_grid, volume_grid

    if is_volume_pair(fixed, moving):
        if which == "fixed":
            volume_grid(fixed, "fixed", pixel_um, slice_um)
        else:
            cube_grid(moving, pixel_um, rate_nm_s)
        return
    grid_of(fixed if which == "fixed" else moving, which, pixel_um)


def fixed_plane(da: xr.DataArray) -> np.ndarray:
    """The fine image as a 2-D float array (grey levels; several channels are summed)."""
    if set(da.dims) == {"y", "x"}:
        return da.transpose("y", "x").values.astype(float)
    if len(da.dims) == 3 and channel_dim(da) is not None:
        return registration_plane(da, None, looks_like_counts(da))
    raise ValidationError(f"the fixed image must be 2-D (y, x), got dims {tuple(da.dims)}")


def _records(fixed: xr.DataArray, moving: xr.DataArray, fixed_grid: Grid, moving_grid: Grid,
             fixed_id: tuple[str | None, str | None], moving_id: tuple[str | None, str | None]
             ) -> tuple[ImageRecord, ImageRecord]:
    return (ImageRecord(fixed_grid, fixed_id[0], fixed_id[1]), ImageRecord(moving_grid, moving_id[0], moving_id[1]))


def _register_3d(fixed: xr.DataArray, moving: xr.DataArray, *, model: str, species: list[str] | None,
                 fixed_pixel_um: float | None, moving_pixel_um: float | None,
                 landmarks: tuple[np.ndarray, np.ndarray] | None, landmarks_only: bool, bspline_mesh: int,
                 bootstrap: int, seed: int, fixed_id: tuple[str | None, str | None],
                 moving_id: tuple[str | None, str | None], on_stage: Callable[[str], None] | None,
                 depth_options: DepthOptions | None) -> Result:
    """:func:`register_images` for a (volume, cube) pair: the options a 3-D registration has, or an error."""
    from ionscope.correlate.pipeline3d import register_volume_pair

    unsupported = [name for name, used in (("--model affine", model != "similarity"),
                                           ("--landmarks-only", landmarks_only),
                                           ("--bspline", bspline_mesh > 0)) if used]
    if unsupported:
        raise ValidationError(f"{', '.join(unsupported)}: not available for a 3-D (volume, cube) pair")
    opts = depth_options or DepthOptions()
    return register_volume_pair(fixed, moving, species=species, fixed_pixel_um=fixed_pixel_um,
                                fixed_slice_um=opts.fixed_slice_um, moving_pixel_um=moving_pixel_um,
                                rate_nm_s=opts.rate_nm_s, depth_scale_range=opts.depth_scale_range, seed=seed,
                                landmarks=landmarks, bootstrap=bootstrap, fixed_id=fixed_id, moving_id=moving_id,
                                on_stage=on_stage)


def register_images(fixed: xr.DataArray, moving: xr.DataArray, *, model: str = "similarity",
                    species: list[str] | None = None, fixed_pixel_um: float | None = None,
                    moving_pixel_um: float | None = None, landmarks: tuple[np.ndarray, np.ndarray] | None = None,
                    landmarks_only: bool = False, bspline_mesh: int = 0, bootstrap: int = 0, seed: int = 0,
                    fixed_id: tuple[str | None, str | None] = (None, None),
                    moving_id: tuple[str | None, str | None] = (None, None),
                    on_stage: Callable[[str], None] | None = None, depth_options: DepthOptions | None = None
                    ) -> Result:
    """Register ``moving`` (coarse: ion images, EDS map) onto ``fixed`` (fine: SEM) in µm.

    A FIB-SEM ``volume`` (z, y, x) as ``fixed`` with a SIMS ``cube3d`` as ``moving`` is registered in
    3-D with a free depth scale (:func:`ionscope.correlate.pipeline3d.register_volume_pair`); a 2-D
    ``fixed`` image with a cube registers the cube's depth-integrated image.

    Parameters
    ----------
    fixed, moving
        ionscope images ((y, x) or (y, x, peak)).
    model
        ``"similarity"`` or ``"affine"``.
    species
        Channels of ``moving`` summed for the registration (default: first principal component).
    fixed_pixel_um, moving_pixel_um
        Pixel sizes (µm) where the images lack them (or to override them).
    landmarks
        (moving (n, 2), fixed (n, 2)) landmark positions (x, y) µm: start of the intensity search,
        or the whole fit with ``landmarks_only``.
    bspline_mesh
        B-spline control-point mesh per side (0: none).
    bootstrap
        Re-registrations of Poisson-resampled counts (0: none) for a bootstrap TRE.
    seed
        Seed of the sampling and of the bootstrap.
    fixed_id, moving_id
        (SHA-256, path) of the files, stored in the transform.
    on_stage
        Called with the name of each stage (progress bars).
    depth_options
        3-D only: slice thickness of the volume (µm) where the file lacks it, sputter rate (nm/s) for
        a cube without a depth coordinate, and the depth-scale search range (factor either way).

    Returns
    -------
    Result
        ``kind="correlate.registration"``: ``transform`` (the :class:`CorrelativeTransform`) and
        ``summary`` (the ``correlate.register`` result a command prints).
    """
    from ionscope.correlate.pipeline3d import is_volume_pair

    if is_volume_pair(fixed, moving):
        return _register_3d(fixed, moving, model=model, species=species, fixed_pixel_um=fixed_pixel_um,
                            moving_pixel_um=moving_pixel_um, landmarks=landmarks, landmarks_only=landmarks_only,
                            bspline_mesh=bspline_mesh, bootstrap=bootstrap, seed=seed, fixed_id=fixed_id,
                            moving_id=moving_id, on_stage=on_stage, depth_options=depth_options)
    if landmarks is not None and np.shape(landmarks[0])[1:] != (2,):
        raise ValidationError("3-D landmarks (with z columns) need a 3-D pair (a FIB-SEM volume and a SIMS cube)")
    stage = on_stage or (lambda _name: None)
    fgrid = grid_of(fixed, "fixed", fixed_pixel_um)
    mgrid = grid_of(moving, "moving", moving_pixel_um)
    fplane = fixed_plane(fixed)
    counts = looks_like_counts(moving)
    mplane = registration_plane(moving, species, counts)
    frec, mrec = _records(fixed, moving, fgrid, mgrid, fixed_id, moving_id)
    warnings: list[str] = []
    cov = None
    initial = None
    lm_tre = None
    if landmarks is not None:
        mov_xy, fix_xy = landmarks
        initial = landmark_fit(mov_xy, fix_xy, model)
        lm_tre = landmark_tre(mov_xy, fix_xy, model)
    if landmarks_only:
        if initial is None:  # no landmarks given
            raise ValidationError("--landmarks-only needs --landmarks")
        from ionscope.correlate.register import affine_transform

        tx = affine_transform(initial, mgrid.centre_xy)
        if overlap_fraction(tx, mgrid, fgrid) < 0.05:
            raise NoOverlapError("the landmark transform puts the moving image (almost) wholly off the fixed image: "
                                 "the images do not overlap")
        ct = CorrelativeTransform(initial, model, frec, mrec, None, lm_tre, "landmarks, leave-one-out")
        if lm_tre is None:
            warnings.append("too few landmark pairs for a leave-one-out error; no TRE")
        metric = None
        iterations = 0
        overlap = overlap_fraction(tx, mgrid, fgrid)
    else:
        stage("registering")
        reg = register_planes(fplane, fgrid, mplane, mgrid, model=model, initial=initial,
                              bspline_mesh=bspline_mesh, seed=seed)
        metric, iterations, overlap = reg.metric, reg.iterations, reg.overlap
        if landmarks is not None:
            tre, method = landmark_residual(reg.transform, *landmarks), "landmark residual (landmarks only started " \
                                                                         "the search)"
        else:
            stage("metric curvature")
            curv = curvature_tre(reg, mgrid, fgrid)
            tre, cov, note = curv["tre"], curv["covariance"], curv["note"]
            method = note
            if tre is None:
                warnings.append(f"no curvature TRE: {note}")
        nonlinear = reg.transform if bspline_mesh > 0 else None
        ct = CorrelativeTransform(matrix_of(reg.transform), model, frec, mrec, metric, tre, method, nonlinear)
        if bootstrap > 0:
            stage(f"bootstrap ({bootstrap} re-registrations)")
            smooth = _bootstrap_source(moving, species, counts)

            def resample(rng: np.random.Generator) -> np.ndarray:
                if counts:
                    draw = rng.poisson(smooth)
                    return _plane_from(draw, moving, species)
                return mplane + rng.normal(0, np.std(mplane - ndimage.gaussian_filter(mplane, 1.0)), mplane.shape)

            boot = bootstrap_tre(reg, fplane, fgrid, resample, mgrid, bootstrap, seed=seed)["tre"]
            ct.extra["tre_bootstrap_um"] = boot
            ct.extra["bootstrap"] = bootstrap
    if cov is not None:
        ct.extra["parameter_covariance"] = np.asarray(cov).tolist()
    return Result("correlate.registration",
                  {"transform": ct, "summary": _result(ct, cov, metric, iterations, overlap, warnings, mgrid)})


def _bootstrap_source(moving: xr.DataArray, species: list[str] | None, counts: bool) -> np.ndarray:
    """Poisson means for resampling: the counts smoothed by a 1-pixel Gaussian (a smooth estimate of the
    expected counts; resampling the raw counts themselves would double their variance)."""
    data = moving.transpose("y", "x", *[d for d in moving.dims if d not in ("y", "x")]).values.astype(float)
    if data.ndim == 2:
        return ndimage.gaussian_filter(np.clip(data, 0, None), 1.0)
    return ndimage.gaussian_filter(np.clip(data, 0, None), (1.0, 1.0, 0))


def _plane_from(draw: np.ndarray, moving: xr.DataArray, species: list[str] | None) -> np.ndarray:
    other = [d for d in moving.dims if d not in ("y", "x")]
    da = xr.DataArray(draw, dims=("y", "x", *other), coords={d: moving[d] for d in other if d in moving.coords})
    if not other:
        return anscombe(draw)
    return registration_plane(da, species, True)


def _image_summary(rec: ImageRecord) -> dict[str, Any]:
    why = NoUncertainty.given("as read from the file or declared")
    # array Quantities: their values are lists (the annotation says float)
    pixel: Any = list(rec.grid.pixel_um)
    origin: Any = list(rec.grid.origin_um)
    return {"shape": list(rec.grid.shape), "pixel_size": Quantity(pixel, None, "µm", why_no_uncertainty=why),
            "origin": Quantity(origin, None, "µm", why_no_uncertainty=why),
            "sha256": rec.sha256, "path": rec.path}


def _result(ct: CorrelativeTransform, cov: np.ndarray | None, metric: float | None, iterations: int,
            overlap: float, warnings: list[str], mgrid: Grid) -> Result:
    m = ct.matrix
    a = m[:2, :2]
    rot = float(np.degrees(np.arctan2(a[1, 0] - a[0, 1], a[0, 0] + a[1, 1])))
    scale = float(np.sqrt(abs(np.linalg.det(a))))
    centre_in_fixed = map_points(ct.itk(), mgrid.centre_xy[None, :])[0] if ct.nonlinear is None else \
        (a @ mgrid.centre_xy + m[:2, 2])
    sim = cov if ct.model == "similarity" else None  # the similarity's covariance: (scale, angle, tx, ty)
    why = "no parameter covariance (landmark fit, B-spline or affine model); see the TRE"
    px = float(np.mean(mgrid.pixel_um))
    tre_why = "the TRE is itself an error estimate"
    values: dict[str, Any] = {
        "convention": CONVENTION,
        "model": ct.model,
        "matrix": m.tolist(),
        "rotation": Quantity(rot, float(np.degrees(np.sqrt(sim[1, 1]))) if sim is not None else None, "deg",
                             why_no_uncertainty=None if sim is not None else why),
        "scale": Quantity(scale, float(np.sqrt(sim[0, 0])) if sim is not None else None, "1",
                          why_no_uncertainty=None if sim is not None else why),
        "moving_centre_in_fixed": Quantity(centre_in_fixed.tolist(),
                                           np.sqrt(np.diag(cov)[-2:]).tolist() if cov is not None else None, "µm",
                                           why_no_uncertainty=None if cov is not None else why),
        "metric": Quantity(metric if metric is not None else float("nan"), None, "1",
                           why_no_uncertainty="the optimum of the similarity measure, not a measured quantity"),
        "tre": Quantity(ct.tre_um if ct.tre_um is not None else float("nan"), None, "µm",
                        why_no_uncertainty=tre_why),
        "tre_pixels": Quantity(ct.tre_um / px if ct.tre_um is not None else float("nan"), None, "px",
                               why_no_uncertainty=tre_why),
        "tre_method": ct.tre_method,
        "overlap_fraction": overlap,
        "iterations": iterations,
        "fixed": _image_summary(ct.fixed),
        "moving": _image_summary(ct.moving),
    }
    if "tre_bootstrap_um" in ct.extra:
        values["tre_bootstrap"] = Quantity(ct.extra["tre_bootstrap_um"], None, "µm", why_no_uncertainty=tre_why)
        values["bootstrap"] = ct.extra["bootstrap"]
    if ct.tre_um is not None and ct.tre_um > 0.5 * px:
        warnings.append(f"target registration error {ct.tre_um / px:.2f} moving pixels exceeds half a pixel: "
                        "check the overlay before transferring labels")
    return Result("correlate.register", values, warnings=tuple(warnings))


def label_names(labels: xr.DataArray | np.ndarray, values: list[int]) -> list[str]:
    """Names of label values: from ``attrs["phases"]`` (name → value) when present, else ``label <v>``."""
    phases = getattr(labels, "attrs", {}).get("phases") or {}
    inv = {int(v): str(k) for k, v in dict(phases).items()}
    return [inv.get(v, f"label {v}") for v in values]


def transfer(labels: xr.DataArray, moving: xr.DataArray, ct: CorrelativeTransform, *, seed: int = 0,
             draws: int | None = None) -> Result:
    """Per-label mean counts per pixel, totals and their uncertainty (Poisson + registration).

    Returns a Result with ``summary`` (the result a command prints) and ``table`` (``rows``: label,
    channel) for CSV export. A 3-D transform (volume,
    cube) gives per-label results per depth (:func:`ionscope.correlate.pipeline3d.transfer_volume_labels`).
    """
    from ionscope.correlate.transfer import REGISTRATION_DRAWS

    if ct.ndim == 3:
        from ionscope.correlate.pipeline3d import transfer_volume_labels

        return transfer_volume_labels(labels, moving, ct, seed=seed, draws=draws)
    if "z" in getattr(labels, "dims", ()):
        raise ValidationError("a label volume (z, y, x) needs a 3-D transform (from registering a volume and a cube)")

    lab = np.asarray(labels.transpose("y", "x").values if isinstance(labels, xr.DataArray) else labels)
    ch = channels_of(moving)
    chans, names, other = ch["channels"], ch["names"], ch["other_dims"]
    tr = transfer_labels(lab, ct.fixed.grid, chans, ct.moving.grid, ct.itk(), tre_um=ct.tre_um,
                         draws=REGISTRATION_DRAWS if draws is None else draws, seed=seed)
    lnames = label_names(labels, tr.labels)
    area_px = float(np.prod(ct.moving.grid.pixel_um))
    per_label: dict[str, Any] = {}
    rows = []
    shape_other = [moving.sizes[d] for d in other]
    for li, (lv, ln) in enumerate(zip(tr.labels, lnames)):
        entry: dict[str, Any] = {"value": lv, "area": Quantity(tr.weight[li] * area_px, None, "µm^2",
                                                               why_no_uncertainty="area of the label in the used "
                                                                                  "pixels under the transform")}
        if (len(other) == 1 and other[0] in ("peak", "element")) or not other:
            species = {}
            for ci, cn in enumerate(names if other else ["counts"]):
                mean, sig = tr.mean[li, ci], tr.sigma[li, ci]
                total = mean * tr.weight[li]
                species[cn] = {"mean_per_pixel": Quantity(mean, sig, "counts"),
                               "total": Quantity(total, sig * tr.weight[li], "counts"),
                               "sigma_poisson": Quantity(tr.sigma_poisson[li, ci], None, "counts",
                                                         why_no_uncertainty="a standard deviation"),
                               "sigma_registration": Quantity(tr.sigma_registration[li, ci], None, "counts",
                                                              why_no_uncertainty="a standard deviation")}
                rows.append({"label": ln, "label_value": lv, "channel": cn, "mean_per_pixel": mean, "sigma": sig,
                             "sigma_poisson": tr.sigma_poisson[li, ci],
                             "sigma_registration": tr.sigma_registration[li, ci], "total": total,
                             "area_um2": tr.weight[li] * area_px})
            entry["species"] = species
        else:
            mean = tr.mean[li].reshape(shape_other)
            sig = tr.sigma[li].reshape(shape_other)
            axis_name = other[0]
            if "peak" in other:
                peaks = [str(p) for p in moving["peak"].values]
                pk = other.index("peak")
                entry["profiles"] = {p: Quantity(np.take(mean, k, axis=pk), np.take(sig, k, axis=pk), "counts")
                                     for k, p in enumerate(peaks)}
            else:
                entry["spectrum"] = Quantity(mean, sig, "counts")
            entry["axis"] = axis_name
            for idx in np.ndindex(*shape_other):
                rows.append({"label": ln, "label_value": lv, "channel": "/".join(map(str, idx)),
                             "mean_per_pixel": float(mean[idx]), "sigma": float(sig[idx])})
        per_label[ln] = entry
    tre = Quantity(ct.tre_um if ct.tre_um is not None else float("nan"), None, "µm",
                   why_no_uncertainty="the TRE of the transform")
    values = {"labels": per_label, "pixels_used": tr.n_pixels, "tre": tre,
        "method": "partial-volume least squares: E[counts] = Σ weight × label mean; Poisson covariance propagated "
                  "through the linear estimator; registration part from transfers with the transform shifted by "
                  "the TRE"}
    warnings: tuple[str, ...] = ()
    if ct.tre_um is None:
        warnings = ("the transform has no TRE: the uncertainties hold the Poisson part only",)
    return Result("correlate.transfer_table", {"summary": Result("correlate.transfer", values, warnings=warnings),
                                               "table": {"rows": rows}})
