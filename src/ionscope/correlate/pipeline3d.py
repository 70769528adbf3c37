"""3-D correlative workflows: register a SIMS cube onto a FIB-SEM volume, transfer labels per depth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ionscope.correlate.grid import looks_like_counts, registration_plane
from ionscope.correlate.transform import CONVENTION_3D, CorrelativeTransform, ImageRecord
from ionscope.correlate.volume import (
    PARAMS,
    Grid3,
    cube_grid,
    map_xyz,
    params_from_matrix,
    register_volumes,
    sims_voxel_in_fixed,
    volume_grid,
)
from ionscope.model.errors import ValidationError
from ionscope.model.result import NoUncertainty, Quantity, Result

MODEL_3D = "depth-scaled"


@dataclass(frozen=True)
class DepthOptions:
    """Options of a 3-D registration: the volume's slice thickness (µm) where the file lacks it, the
    sputter rate (nm/s) of a cube without a depth coordinate, and the depth-scale search range."""

    fixed_slice_um: float | None = None
    rate_nm_s: float | None = None
    depth_scale_range: float = 1.5
_UNITS = {"rotation_rad": "rad", "scale_x": "1", "scale_y": "1", "depth_scale": "1", "shift_x_um": "µm",
          "shift_y_um": "µm", "shift_z_um": "µm"}


def is_volume_pair(fixed: xr.DataArray, moving: xr.DataArray) -> bool:
    """Whether FIXED and MOVING form a 3-D pair (FIB-SEM volume and SIMS cube).

    Raises
    ------
    ValidationError
        A volume against a 2-D image (or the other way round with a volume as MOVING).
    """
    f3, m3 = "z" in fixed.dims, "scan" in moving.dims
    if "z" in moving.dims:
        raise ValidationError("MOVING is a volume (z, y, x): the coarse image must be a SIMS cube (scan, y, x, peak) "
                              "or a 2-D image; swap FIXED and MOVING if the volume is the fine one")
    if f3 and not m3:
        raise ValidationError(f"FIXED is a volume (z, y, x) but MOVING is 2-D (dims {tuple(moving.dims)}): a 3-D "
                              "registration needs a depth-calibrated SIMS cube (scan, y, x, peak)")
    return f3


def _cube_volume(cube: xr.DataArray, species: list[str] | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The cube as one (z, y, x) registration volume and its (y, x) depth-summed image.

    The channels are combined as in 2-D (:func:`ionscope.correlate.grid.registration_plane`): the sum
    of ``species``, else the first principal component of the variance-stabilised channels.
    """
    counts = looks_like_counts(cube) or np.issubdtype(cube.dtype, np.integer) or \
        str(cube.attrs.get("units", "")) in ("", "counts")
    other = [d for d in cube.dims if d not in ("scan", "y", "x")]
    da = cube.transpose("scan", "y", "x", *other)
    nz, ny, nx = (da.sizes[d] for d in ("scan", "y", "x"))
    flat_dims = ("y", "x", *other)
    data = np.asarray(da.values, float)
    stacked = xr.DataArray(data.reshape((nz * ny, nx) + data.shape[3:]), dims=flat_dims,
                           coords={d: da[d].values for d in other if d in da.coords})
    stacked.attrs["units"] = "counts" if counts else ""
    vol = registration_plane(stacked, species, counts).reshape(nz, ny, nx)
    summed = xr.DataArray(data.sum(axis=0), dims=flat_dims, coords=stacked.coords)
    proj = registration_plane(summed, species, counts)
    return vol, proj, counts


def register_volume_pair(fixed: xr.DataArray, moving: xr.DataArray, *, species: list[str] | None = None,
                         fixed_pixel_um: float | None = None, fixed_slice_um: float | None = None,
                         moving_pixel_um: float | None = None, rate_nm_s: float | None = None,
                         depth_scale_range: float = 1.5, seed: int = 0,
                         landmarks: tuple[np.ndarray, np.ndarray] | None = None, bootstrap: int = 0,
                         fixed_id: tuple[str | None, str | None] = (None, None),
                         moving_id: tuple[str | None, str | None] = (None, None),
                         on_stage: Callable[[str], None] | None = None) -> Result:
    """Register a depth-calibrated SIMS cube (scan, y, x, peak) onto a FIB-SEM volume (z, y, x).

    Parameters
    ----------
    fixed, moving
        The FIB-SEM ``volume`` and the SIMS ``cube3d`` (with a ``depth`` coordinate, or ``rate_nm_s``).
    species
        Channels of the cube used for the registration (default: first principal component).
    fixed_pixel_um, fixed_slice_um
        In-plane pixel size and slice thickness (µm) of the volume where the file lacks them.
    moving_pixel_um
        SIMS pixel size (µm) where the file lacks it.
    rate_nm_s
        Sputter rate (nm/s) giving the nominal depth ``sputter_time × rate`` when the cube has no depth.
    depth_scale_range
        The depth-scale search spans ``[1/range, range]`` times the nominal calibration.
    seed
        Seed of the metric sampling and of the bootstrap.
    landmarks
        (moving (n, 3), fixed (n, 3)) landmark positions (x, y, z) µm: the seven parameters fitted to
        them start the refinement instead of the exhaustive searches.
    bootstrap
        Re-registrations of Poisson-resampled counts (0: none) for a bootstrap TRE.
    fixed_id, moving_id
        (SHA-256, path) of the files, stored in the transform.
    on_stage
        Called with the name of each stage.

    Returns
    -------
    Result
        ``kind="correlate.registration"``: ``transform`` (the :class:`CorrelativeTransform`) and
        ``summary`` (the ``correlate.register`` result a command prints).
    """
    from ionscope.correlate.volume import bootstrap_volumes, fit_landmarks3, matrix_from_params

    fgrid = volume_grid(fixed, "fixed", fixed_pixel_um, fixed_slice_um)
    mgrid = cube_grid(moving, moving_pixel_um, rate_nm_s)
    vol, proj, _ = _cube_volume(moving, species)
    fvol = np.asarray(fixed.transpose("z", "y", "x").values, dtype=np.float32)
    initial, lm_rms = None, None
    if landmarks is not None:
        if np.shape(landmarks[0])[1:] != (3,):
            raise ValidationError("a 3-D registration needs 3-D landmarks (columns fixed_z_um and moving_z_um too)")
        lm_fit = fit_landmarks3(landmarks[0], landmarks[1], mgrid.centre_xyz)
        p_lm, lm_rms = lm_fit["params"], lm_fit["rms"]
        initial = matrix_from_params(p_lm, mgrid.centre_xyz)
    reg = register_volumes(fvol, fgrid, vol, mgrid, projection=proj, initial=initial,
                           depth_scale_range=depth_scale_range, seed=seed, on_stage=on_stage)
    boot = None
    if bootstrap > 0:
        (on_stage or (lambda _n: None))(f"bootstrap ({bootstrap} re-registrations)")
        mean = ndimage.gaussian_filter(np.clip(np.asarray(moving.values, float), 0, None),
                                       [1.0 if d in ("scan", "y", "x") else 0.0 for d in moving.dims])

        def resample(rng: np.random.Generator) -> np.ndarray:
            return _cube_volume(moving.copy(data=rng.poisson(mean).astype(np.float32)), species)[0]

        boot = bootstrap_volumes(fvol, fgrid, resample, mgrid, reg, bootstrap, seed=seed)
    sd = np.sqrt(np.diag(reg.covariance)) if reg.covariance is not None else None
    params = {n: {"value": float(v), "uncertainty": None if sd is None else float(s), "unit": _UNITS[n]}
              for n, v, s in zip(PARAMS, reg.params, sd if sd is not None else [None] * len(PARAMS))}
    extra: dict[str, Any] = {"ndim": 3, "parameters": params, "parameter_names": list(PARAMS),
                             "depth_scale": params["depth_scale"], "search": reg.search,
                             "tre_voxels": reg.tre_voxels}
    if reg.covariance is not None:
        extra["parameter_covariance"] = reg.covariance.tolist()
    if lm_rms is not None:
        extra["landmark_residual_um"] = lm_rms
    if boot is not None:
        extra.update(tre_bootstrap_um=boot["tre_um"], tre_bootstrap_voxels=boot["tre_voxels"], bootstrap=bootstrap,
                     bootstrap_covariance=boot["covariance"].tolist())
    ct = CorrelativeTransform(reg.matrix, MODEL_3D, ImageRecord(fgrid, *fixed_id), ImageRecord(mgrid, *moving_id),
                              reg.metric, reg.tre_um, reg.note, extra=extra)
    return Result("correlate.registration",
                  {"transform": ct, "summary": _result(ct, reg.params, sd, reg.overlap, reg.evaluations, mgrid)})


def _summary(rec: ImageRecord) -> dict[str, Any]:
    why = NoUncertainty.given("as read from the file or declared")
    g = rec.grid
    # array Quantities: their values are lists (the annotation says float)
    voxel: Any = list(g.voxel_um)
    origin: Any = list(g.origin_um)
    return {"shape": list(g.shape), "pixel_size": Quantity(voxel, None, "µm", why_no_uncertainty=why),
            "origin": Quantity(origin, None, "µm", why_no_uncertainty=why), "axes": ["z", "y", "x"],
            "sha256": rec.sha256, "path": rec.path}


def _result(ct: CorrelativeTransform, p: np.ndarray, sd: np.ndarray | None, overlap: float, evaluations: int,
            mgrid: Grid3) -> Result:
    why = "no curvature estimate at the optimum (see warnings)"
    warnings: list[str] = [] if sd is not None else [f"no parameter uncertainty: {ct.tre_method}"]

    def q(i: int, unit: str, k: float = 1.0) -> Quantity:
        return Quantity(float(p[i] * k), None if sd is None else float(sd[i] * k), unit,
                        why_no_uncertainty=None if sd is not None else why)

    centre = map_xyz(ct.matrix, mgrid.centre_xyz[None, :])[0]
    vox = sims_voxel_in_fixed(p, mgrid)
    centre_sd: Any = None if sd is None else [float(v) for v in sd[4:7]]  # an array Quantity's uncertainty: a list
    tre_vox = ct.extra.get("tre_voxels")
    tre_why = "the TRE is itself an error estimate"
    values: dict[str, Any] = {
        "convention": CONVENTION_3D,
        "model": MODEL_3D,
        "ndim": 3,
        "matrix": ct.matrix.tolist(),
        "rotation": q(0, "deg", 180 / np.pi),
        "scale": Quantity(float(np.sqrt(p[1] * p[2])), None if sd is None else float(0.5 * np.hypot(sd[1], sd[2])),
                          "1", why_no_uncertainty=None if sd is not None else why),
        "scale_x": q(1, "1"), "scale_y": q(2, "1"),
        "depth_scale": q(3, "1"),
        "depth_step": Quantity(float(vox[2]), None if sd is None else float(mgrid.voxel_um[0] * sd[3]), "µm",
                               why_no_uncertainty=None if sd is not None else why),
        "depth_step_nominal": Quantity(float(mgrid.voxel_um[0]), None, "µm",
                                       why_no_uncertainty="the nominal calibration the depth scale corrects"),
        "moving_centre_in_fixed": Quantity(centre.tolist(), centre_sd, "µm",
                                           why_no_uncertainty=None if sd is not None else why),
        "metric": Quantity(ct.metric if ct.metric is not None else float("nan"), None, "1",
                           why_no_uncertainty="the optimum of the similarity measure, not a measured quantity"),
        "tre": Quantity(ct.tre_um if ct.tre_um is not None else float("nan"), None, "µm", why_no_uncertainty=tre_why),
        "tre_voxels": Quantity(tre_vox if tre_vox is not None else float("nan"), None, "voxel",
                               why_no_uncertainty=tre_why),
        "tre_method": ct.tre_method,
        **_optional(ct),
        "overlap_fraction": overlap,
        "iterations": evaluations,
        "fixed": _summary(ct.fixed),
        "moving": _summary(ct.moving),
    }
    if tre_vox is not None and tre_vox > 0.5:
        warnings.append(f"target registration error {tre_vox:.2f} SIMS voxels exceeds half a voxel: check the "
                        "registration before transferring labels")
    if sd is not None and abs(p[3] - 1) > 3 * sd[3]:
        warnings.append(f"the depth scale {p[3]:.3f} ± {sd[3]:.3f} differs from 1: the nominal sputter-rate "
                        f"calibration is off by {100 * (p[3] - 1):+.0f} %")
    return Result("correlate.register", values, warnings=tuple(warnings))


def _optional(ct: CorrelativeTransform) -> dict[str, Any]:
    """Bootstrap TRE and depth-scale spread, landmark residual: where they were computed."""
    out: dict[str, Any] = {}
    if "tre_bootstrap_um" in ct.extra:
        why = "the bootstrap TRE is itself an error estimate"
        out["tre_bootstrap"] = Quantity(ct.extra["tre_bootstrap_um"], None, "µm", why_no_uncertainty=why)
        out["tre_bootstrap_voxels"] = Quantity(ct.extra["tre_bootstrap_voxels"], None, "voxel",
                                               why_no_uncertainty=why)
        out["depth_scale_sigma_bootstrap"] = Quantity(float(np.sqrt(ct.extra["bootstrap_covariance"][3][3])), None,
                                                      "1", why_no_uncertainty="a standard deviation")
        out["bootstrap"] = ct.extra["bootstrap"]
    if "landmark_residual_um" in ct.extra:
        out["landmark_residual"] = Quantity(ct.extra["landmark_residual_um"], None, "µm",
                                            why_no_uncertainty="the RMS residual of the landmark fit")
    return out


def _draw_matrices(ct: CorrelativeTransform, n: int, seed: int) -> list[np.ndarray]:
    """Transforms drawn from the stored parameter covariance (registration uncertainty of a 3-D transfer)."""
    from ionscope.correlate.volume import matrix_from_params

    cov = ct.extra.get("parameter_covariance")
    if cov is None or n < 2:
        return []
    centre = ct.moving.grid.centre_xyz
    p0 = params_from_matrix(ct.matrix, centre)
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(p0, np.asarray(cov, float), size=n, method="eigh")
    return [matrix_from_params(d, centre) for d in draws]


def _nan_none(a: np.ndarray) -> Any:  # the value of an array Quantity: a list (the annotation says float)
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, float).ravel()]


def transfer_volume_labels(labels: xr.DataArray, cube: xr.DataArray, ct: CorrelativeTransform, *, seed: int = 0,
                           draws: int | None = None) -> Result:
    """Per-label, per-species mean counts per voxel and totals, per depth and depth-integrated, of a SIMS cube
    under a 3-D transform, with Poisson and registration uncertainty.

    Returns a Result with ``summary`` (the result a command prints) and ``table`` (``rows``: label,
    channel, scan) for CSV export.
    """
    from ionscope.correlate.pipeline import label_names
    from ionscope.correlate.transfer3d import REGISTRATION_DRAWS, transfer_volume

    if ct.ndim != 3:
        raise ValidationError("this transform is 2-D; a cube with a label volume needs a 3-D transform")
    if "z" not in labels.dims:
        raise ValidationError(f"a 3-D transfer needs a label volume (z, y, x), got dims {tuple(labels.dims)}")
    other = [d for d in cube.dims if d not in ("scan", "y", "x")]
    if len(other) > 1:
        raise ValidationError(f"expected a cube (scan, y, x, peak), got dims {tuple(cube.dims)}")
    da = cube.transpose("scan", "y", "x", *other)
    names = [str(v) for v in da[other[0]].values] if other else ["counts"]
    data = np.asarray(da.values, float)
    data = data if other else data[..., None]
    lab = np.asarray(labels.transpose("z", "y", "x").values)
    mats = _draw_matrices(ct, REGISTRATION_DRAWS if draws is None else draws, seed)
    tr = transfer_volume(lab, ct.fixed.grid, data, ct.moving.grid, ct.matrix, draws=mats)
    lnames = label_names(labels, tr.labels)
    vox_um3 = float(abs(np.linalg.det(ct.matrix[:3, :3])) * np.prod(ct.moving.grid.voxel_um))
    per_label: dict[str, Any] = {}
    rows = []
    total, total_sig = tr.total, tr.total_sigma
    for li, (lv, ln) in enumerate(zip(tr.labels, lnames)):
        species = {}
        for ci, cn in enumerate(names):
            species[cn] = {
                "mean_per_voxel": Quantity(float(tr.mean[li, ci]), float(tr.sigma[li, ci]), "counts"),
                "total": Quantity(float(total[li, ci]), float(total_sig[li, ci]), "counts"),
                "sigma_poisson": Quantity(float(tr.sigma_poisson[li, ci]), None, "counts",
                                          why_no_uncertainty="a standard deviation"),
                "sigma_registration": Quantity(float(tr.sigma_registration[li, ci]), None, "counts",
                                               why_no_uncertainty="a standard deviation"),
                "depth_profile": Quantity(_nan_none(tr.mean_z[li, :, ci]), _nan_none(tr.sigma_z[li, :, ci]),
                                          "counts"),
            }
            for iz in range(len(tr.depth_um)):
                rows.append({"label": ln, "label_value": lv, "channel": cn, "scan": iz,
                             "depth_um": float(tr.depth_um[iz]), "depth_sigma_um": float(tr.depth_sigma_um[iz]),
                             "mean_per_voxel": float(tr.mean_z[li, iz, ci]), "sigma": float(tr.sigma_z[li, iz, ci]),
                             "sigma_poisson": float(tr.sigma_poisson_z[li, iz, ci]),
                             "sigma_registration": float(tr.sigma_registration_z[li, iz, ci]),
                             "volume_um3": float(tr.weight_z[li, iz] * vox_um3)})
        per_label[ln] = {"value": lv,
                         "volume": Quantity(float(tr.weight_z[li].sum() * vox_um3), None, "µm^3",
                                            why_no_uncertainty="volume of the label in the used voxels under the "
                                                               "transform"),
                         "species": species}
    depth_unc = _nan_none(tr.depth_sigma_um) if mats else None
    values = {"labels": per_label, "pixels_used": tr.n_voxels, "ndim": 3,
              "depth": Quantity(tr.depth_um.tolist(), depth_unc, "µm",
                                why_no_uncertainty=None if mats else "the transform has no parameter covariance"),
              "tre": Quantity(ct.tre_um if ct.tre_um is not None else float("nan"), None, "µm",
                              why_no_uncertainty="the TRE of the transform"),
              "method": "partial-volume least squares per scan: E[counts] = Σ weight × label mean(depth); Poisson "
                        "covariance propagated through the linear estimator; registration part from transfers "
                        "with transforms drawn from the registration's parameter covariance"}
    warnings = () if mats else ("the transform has no parameter covariance: the uncertainties hold the Poisson part "
                                "only",)
    return Result("correlate.transfer_table", {"summary": Result("correlate.transfer", values, warnings=warnings),
                                               "table": {"rows": rows}})


def resample_cube(cube: xr.DataArray, ct: CorrelativeTransform) -> xr.DataArray:
    """The SIMS cube resampled onto the FIB-SEM grid: a ``cube3d`` with one scan per FIB-SEM slice.

    Every channel is interpolated trilinearly at the FIB-SEM voxel centres mapped into the cube by the
    inverse transform (counts per SIMS voxel, not rescaled to the finer voxels); voxels outside the
    cube are NaN. ``depth`` is the FIB-SEM z of each slice (nm).

    Raises
    ------
    ValidationError
        A 2-D transform, or a cube that is not (scan, y, x[, channel]).
    """
    import SimpleITK as sitk

    from ionscope.correlate.volume import itk_affine, to_sitk3
    from ionscope.model.arrays import coord, labelled

    if ct.ndim != 3:
        raise ValidationError("this transform is 2-D; resampling a cube onto a volume needs a 3-D transform")
    other = [d for d in cube.dims if d not in ("scan", "y", "x")]
    if len(other) > 1 or not all(d in cube.dims for d in ("scan", "y", "x")):
        raise ValidationError(f"expected a cube (scan, y, x, peak), got dims {tuple(cube.dims)}")
    da = cube.transpose("scan", "y", "x", *other)
    data = np.asarray(da.values, np.float32)
    data = data if other else data[..., None]
    fg, mg = ct.fixed.grid, ct.moving.grid
    ref = to_sitk3(np.zeros(fg.shape, np.float32), fg)
    inverse = itk_affine(np.linalg.inv(ct.matrix))
    out = np.stack([sitk.GetArrayFromImage(sitk.Resample(to_sitk3(data[..., c], mg), ref, inverse, sitk.sitkLinear,
                                                         np.nan, sitk.sitkFloat32))
                    for c in range(data.shape[-1])], axis=-1)
    axes = [o + np.arange(n) * v for o, n, v in zip(fg.origin_um, fg.shape, fg.voxel_um)]
    names = [str(v) for v in da[other[0]].values] if other else ["counts"]
    coords = {"scan": coord("scan", np.arange(fg.shape[0]), "index"),
              "depth": coord("scan", 1000.0 * axes[0], "nm"),
              "y": coord("y", axes[1], "µm"), "x": coord("x", axes[2], "µm"),
              "peak": xr.Variable("peak", np.asarray(names, dtype=str))}
    attrs = {"resampled_from": str(ct.moving.path),
             "note": "counts per SIMS voxel, trilinear at the FIB-SEM voxel centres (depth: FIB-SEM z)"}
    return labelled(out, "cube3d", coords=coords, units="counts", attrs=attrs)


__all__ = ["DepthOptions", "is_volume_pair", "register_volume_pair",
           "resample_cube", "transfer_volume_labels"]
