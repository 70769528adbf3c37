"""Register a depth-calibrated TOF-SIMS cube (moving) onto a FIB-SEM volume (fixed) in µm.

Parametrisation. Both instruments look at the sample along its surface normal (the FIB-SEM volume
as reconstructed with z into the sample, the SIMS cube with z the sputtered depth), so the map from
SIMS to FIB-SEM coordinates has seven parameters, applied about the centre ``c`` of the SIMS cube::

    [x_f, y_f]ᵀ = R(θ) · diag(s_x, s_y) · [x_m − c_x, y_m − c_y]ᵀ + [c_x + t_x, c_y + t_y]ᵀ
    z_f         = s_z · (z_m − c_z) + c_z + t_z

* ``θ`` — rotation about the surface normal (stage and scan rotation of the two instruments);
* ``s_x, s_y`` — the in-plane scales of the SIMS raster (its field-of-view calibration; the x and y
  deflections are calibrated separately, so a few per cent of anisotropy is allowed and reported);
* ``s_z`` — the **depth scale**: the SIMS depth axis is sputter time times a calibrated sputter rate
  (crater depth ÷ time, López et al. 2021, J. Mater. Chem. A 9, 25341, doi:10.1039/D1TA04532F), and
  the rate of the analysed material is uncertain by tens of per cent (rates differ strongly between
  phases; the crater depth is often measured on another spot). With one rate, an error of the rate
  is exactly a scale factor of the depth axis, so ``s_z`` is free and fitted; the z shift ``t_z``
  absorbs the unknown position of the first scan in the FIB-SEM volume. This is the depth correction
  of 3-D ToF-SIMS data by an independent structure measurement (Robinson, Graham & Castner 2012,
  Anal. Chem. 84, 4880, doi:10.1021/ac300480g), here against the FIB-SEM volume of the same region
  (correlative SIMS–electron microscopy: Vollnhals et al. 2017, Anal. Chem. 89, 10702,
  doi:10.1021/acs.analchem.7b01256);
* no tilt and no shear: a tilt of a few mrad between the instruments shifts depth by less than a
  SIMS voxel across the field, and tilts and shears would trade off against ``s_z`` and ``t_z``
  through the coarse, noisy cube; a full 3-D affine is therefore not offered.

Method. SimpleITK's registration framework (Lowekamp et al. 2013, Front. Neuroinform. 7, 45,
doi:10.3389/fninf.2013.00045) with 3-D Mattes mutual information (Mattes et al. 2003, IEEE Trans.
Med. Imaging 22, 120, doi:10.1109/TMI.2002.808360) on images carrying their physical, anisotropic
voxel sizes (no resampling to isotropic voxels). The transform is ITK's
``ComposeScaleSkewVersor3DTransform`` (matrix = rotation · scale · skew) with optimiser weights that
freeze the tilt (versor x, y) and the skews, which leaves exactly the seven parameters above. Start:
the in-plane parameters from the 2-D registration (exhaustive rotation/shift search,
:func:`ionscope.correlate.register.register_planes`) of the depth-summed cube against z-projections
of the volume (whole depth and three half-depth slabs; the largest mutual information wins), then
an exhaustive search of ``(s_z, t_z)`` on a grid; then regular-step gradient descent on a two-level
pyramid.

Uncertainty. As in 2-D, maximising mutual information is maximum-likelihood estimation of the
transform (Roche, Malandain & Ayache 2000, Int. J. Imaging Syst. Technol. 11, 71), so
``N_eff · ∇²(−MI)`` is the observed Fisher information of the seven parameters. ``N_eff`` is the
number of overlapping SIMS voxels divided by the integral correlation volume (Bartlett 1946, J. R.
Stat. Soc. Suppl. 8, 27, doi:10.2307/2983611) of the fit's gradient field ``r · ∂g/∂x_a`` — ``r``
the cube minus its conditional mean given the mapped FIB-SEM grey level ``g`` — rather than the
smoothing kernel's ``(4πσ²)^{3/2}``: what the grey levels do not explain (partial volumes at phase
boundaries) is correlated over the structure's size and along the fine depth axis, and a kernel
volume alone understated the error about twofold on simulated pairs. The inverse is the parameter
covariance, which gives the depth scale's standard deviation and, mapped through the Jacobian at
the overlap's voxels, the target registration error (Fitzpatrick & West
2001, IEEE Trans. Med. Imaging 20, 917, doi:10.1109/42.952729). Not covered: a data-dependent
bias of the mutual-information optimum itself, which on simulated pairs occasionally moves the
depth scale by several of its σ; a ``--bootstrap`` (Poisson resampling) does not see it either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ionscope.correlate.grid import Grid, PixelSizeMissingError, sitk_image
from ionscope.correlate.register import BINS, MIN_OVERLAP, SMOOTH_PX, NoOverlapError, register_planes
from ionscope.model.errors import ValidationError
from ionscope.model.result import Result

#: Names of the seven transform parameters, in order.
PARAMS = ("rotation_rad", "scale_x", "scale_y", "depth_scale", "shift_x_um", "shift_y_um", "shift_z_um")
#: Range of the depth-scale search, as a factor either way of the nominal calibration.
DEPTH_SCALE_RANGE = 1.5
#: Depth-scale values tried by the exhaustive search.
DEPTH_SCALE_STEPS = 13
#: z shifts tried by the exhaustive search (over the fixed volume's depth).
DEPTH_SHIFT_STEPS = 41
#: Depth steps may vary by this fraction before a cube counts as non-uniform.
UNIFORM_TOLERANCE = 0.01


@dataclass(frozen=True)
class Grid3:
    """A voxel grid: shape (z, y, x), voxel size (dz, dy, dx) µm, centre of the first voxel (z0, y0, x0) µm."""

    shape: tuple[int, ...]  # (z, y, x)
    voxel_um: tuple[float, ...]
    origin_um: tuple[float, ...]

    @property
    def centre_xyz(self) -> np.ndarray:
        """Centre of the volume (x, y, z) µm."""
        return np.array([self.origin_um[2 - a] + (self.shape[2 - a] - 1) * self.voxel_um[2 - a] / 2
                         for a in range(3)])

    @property
    def plane(self) -> Grid:
        """The in-plane (y, x) grid."""
        return Grid((self.shape[1], self.shape[2]), (self.voxel_um[1], self.voxel_um[2]),
                    (self.origin_um[1], self.origin_um[2]))

    @property
    def extent_xyz(self) -> np.ndarray:
        """Edge lengths (x, y, z) µm."""
        return np.array([self.shape[2 - a] * self.voxel_um[2 - a] for a in range(3)])

    def to_dict(self) -> dict[str, Any]:
        return {"ndim": 3, "shape": list(self.shape), "voxel_size_um": list(self.voxel_um),
                "origin_um": list(self.origin_um), "axes": ["z", "y", "x"]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grid3:
        return cls(tuple(int(v) for v in d["shape"]), tuple(float(v) for v in d["voxel_size_um"]),
                   tuple(float(v) for v in d["origin_um"]))

    def inside(self, xyz: np.ndarray) -> np.ndarray:
        """Whether (n, 3) points (x, y, z) µm fall in a voxel of this grid."""
        ok = np.ones(len(xyz), bool)
        for a in range(3):
            ax = 2 - a
            f = (xyz[:, a] - self.origin_um[ax]) / self.voxel_um[ax]
            ok &= (f > -0.5) & (f < self.shape[ax] - 0.5)
        return ok

    def centres(self, step: int = 1) -> np.ndarray:
        """(n, 3) voxel centres (x, y, z) µm of every ``step``-th voxel along each axis."""
        ax = [self.origin_um[a] + np.arange(0, self.shape[a], step) * self.voxel_um[a] for a in range(3)]
        gz, gy, gx = np.meshgrid(*ax, indexing="ij")
        return np.column_stack([gx.ravel(), gy.ravel(), gz.ravel()])


def volume_grid(da: xr.DataArray, what: str, pixel_size_um: float | None = None,
                slice_thickness_um: float | None = None) -> Grid3:
    """The (z, y, x) grid of a ``volume``; declared sizes replace missing or assumed ones.

    Raises
    ------
    PixelSizeMissingError
        When the in-plane pixel size or the slice thickness is unknown (assumed by the reader) and
        not declared.
    """
    nz, ny, nx = (int(da.sizes[d]) for d in ("z", "y", "x"))
    step = [_step(da, d) for d in ("z", "y", "x")]
    if pixel_size_um is not None:
        step[1] = step[2] = float(pixel_size_um)
    elif str(da.attrs.get("pixel_size_source", "")).startswith("unknown"):
        raise PixelSizeMissingError(f"the {what} volume has no pixel size; give --{what}-pixel-size (e.g. '10nm')")
    if slice_thickness_um is not None:
        step[0] = float(slice_thickness_um)
    elif str(da.attrs.get("slice_thickness_source", "")).startswith("assumed"):
        raise PixelSizeMissingError(f"the {what} volume has no slice thickness (the reader assumed it equal to the "
                                    f"pixel size); give --{what}-slice-thickness (e.g. '20nm')")
    declared = {"z": slice_thickness_um is not None, "y": pixel_size_um is not None, "x": pixel_size_um is not None}
    origin = tuple(float(da[d].values[0]) if d in da.coords and not declared[d] else s / 2
                   for d, s in zip("zyx", step))
    return Grid3((nz, ny, nx), tuple(step), origin)


def _step(da: xr.DataArray, dim: str) -> float:
    from ionscope.model.arrays import spacing_of

    try:
        return float(spacing_of(da, (dim,))[0])
    except ValidationError:
        return 1.0


def cube_grid(da: xr.DataArray, pixel_size_um: float | None = None, rate_nm_s: float | None = None) -> Grid3:
    """The (scan, y, x) grid of a 3-D SIMS cube in µm: z from its ``depth`` coordinate (nm), or from
    ``sputter_time × rate_nm_s``.

    Raises
    ------
    PixelSizeMissingError
        No in-plane pixel size, or no depth calibration (neither a depth coordinate nor a rate).
    ValidationError
        Depth steps that are not uniform (several sputter rates): resample the cube first.
    """
    from ionscope.correlate.grid import grid_of

    plane = grid_of(da, "moving", pixel_size_um)
    if rate_nm_s is not None:
        if "sputter_time" not in da.coords:
            raise ValidationError("the cube has no sputter_time coordinate to convert with --rate")
        depth = np.asarray(da["sputter_time"].values, float) * float(rate_nm_s) / 1000.0
    elif "depth" in da.coords:
        from ionscope.model.units import convert

        depth = np.asarray(da["depth"].values, float) * float(convert(1.0, da["depth"].attrs.get("units", "nm"), "µm"))
    else:
        raise PixelSizeMissingError("the SIMS cube has no depth calibration (no depth coordinate); give the sputter "
                                    "rate with --rate (e.g. '0.8nm/s') or calibrate the depth first")
    nz = int(da.sizes["scan"])
    if nz < 2:
        raise ValidationError("a 3-D registration needs a cube of at least 2 scans")
    steps = np.diff(depth)
    dz = float(np.mean(steps))
    if not np.all(np.isfinite(steps)) or dz <= 0 or np.max(np.abs(steps - dz)) > UNIFORM_TOLERANCE * dz:
        raise ValidationError("the cube's depth steps are not uniform (several sputter rates?): a 3-D registration "
                              "needs one depth step per scan")
    return Grid3((nz,) + plane.shape, (dz,) + plane.pixel_um, (float(depth[0]),) + plane.origin_um)


def matrix_from_params(p: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """4×4 matrix (x, y, z, 1) of the seven parameters :data:`PARAMS` about ``centre`` (x, y, z) µm."""
    th, sx, sy, sz, tx, ty, tz = (float(v) for v in p)
    a = np.zeros((3, 3))
    a[:2, :2] = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) @ np.diag([sx, sy])
    a[2, 2] = sz
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = centre + np.array([tx, ty, tz]) - a @ centre
    return m


def params_from_matrix(m: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The seven parameters of a 4×4 matrix (in-plane ``R(θ)·diag(s_x, s_y)``, z scale, shifts of ``centre``)."""
    a = np.asarray(m, float)[:3, :3]
    th = np.arctan2(a[1, 0], a[0, 0])
    t = np.asarray(m, float)[:3, 3] + a @ centre - centre
    return np.array([th, np.hypot(a[0, 0], a[1, 0]), np.hypot(a[0, 1], a[1, 1]), a[2, 2], *t])


def itk_affine(m: np.ndarray) -> Any:
    """A SimpleITK 3-D ``AffineTransform`` of a 4×4 (x, y, z) matrix."""
    import SimpleITK as sitk

    tx = sitk.AffineTransform(3)
    tx.SetMatrix(np.asarray(m, float)[:3, :3].ravel().tolist())
    tx.SetTranslation(np.asarray(m, float)[:3, 3].tolist())
    return tx


def map_xyz(m: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """(n, 3) points (x, y, z) µm mapped by a 4×4 matrix."""
    return xyz @ m[:3, :3].T + m[:3, 3]


def to_sitk3(vol: np.ndarray, grid: Grid3) -> Any:
    """A float32 SimpleITK image of ``vol`` (z, y, x) on ``grid`` (origin at the first voxel centre)."""
    return sitk_image(vol, grid.voxel_um, grid.origin_um)


@dataclass
class Registration3:
    """The outcome of :func:`register_volumes`."""

    matrix: np.ndarray  # 4×4, moving (x, y, z) µm → fixed µm
    params: np.ndarray  # :data:`PARAMS`
    metric: float  # Mattes mutual information at the optimum (nats)
    overlap: float
    evaluations: int
    covariance: np.ndarray | None = None
    tre_um: float | None = None
    tre_voxels: float | None = None
    note: str = ""
    search: dict[str, Any] = field(default_factory=dict)


def overlap_3d(m: np.ndarray, moving: Grid3, fixed: Grid3, step: int = 2) -> float:
    """Fraction of (a sub-grid of) the moving voxels that land in the fixed volume."""
    pts = moving.centres(step)
    return float(fixed.inside(map_xyz(m, pts)).mean())


def _bin(vol: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Block means over ``factors`` (z, y, x) voxels (edges that do not fill a block are dropped)."""
    fz, fy, fx = factors
    nz, ny, nx = (s // f for s, f in zip(vol.shape, factors))
    v = np.asarray(vol[:nz * fz, :ny * fy, :nx * fx], dtype=np.float32)
    return v.reshape(nz, fz, ny, fy, nx, fx).mean(axis=(1, 3, 5))


def _prepare_fixed3(vol: np.ndarray, grid: Grid3, moving: Grid3) -> tuple[np.ndarray, Grid3]:
    """The FIB-SEM volume block-averaged to about half the SIMS voxel along each axis."""
    f = tuple(max(1, int(mv / fv // 2)) for mv, fv in zip(moving.voxel_um, grid.voxel_um))
    binned = _bin(vol, f) if f != (1, 1, 1) else np.asarray(vol, np.float32)
    vox = tuple(v * k for v, k in zip(grid.voxel_um, f))
    origin = tuple(o - v / 2 + w / 2 for o, v, w in zip(grid.origin_um, grid.voxel_um, vox))
    return binned, Grid3(binned.shape, vox, origin)


def _xy_start(fixed: np.ndarray, fgrid: Grid3, projection: np.ndarray, mgrid: Grid3, seed: int
              ) -> tuple[np.ndarray, dict[str, Any]]:
    """In-plane (θ, s, t_x, t_y) from 2-D registrations of the cube's projection against z-projections of the
    whole volume and of three half-depth slabs; the largest mutual information wins."""
    nz = fixed.shape[0]
    slabs = [(0, nz)] + ([(0, nz // 2), (nz // 4, nz // 4 + nz // 2), (nz - nz // 2, nz)] if nz >= 8 else [])
    best = None
    for lo, hi in slabs:
        try:
            reg = register_planes(fixed[lo:hi].mean(axis=0), fgrid.plane, projection, mgrid.plane, seed=seed)
        except NoOverlapError:
            continue
        if best is None or reg.metric > best[0].metric:
            best = (reg, (lo, hi))
    if best is None:
        raise NoOverlapError("the projections of the two volumes do not overlap in the plane")
    tx = best[0].transform
    sc = float(tx.GetScale())
    return (np.array([tx.GetAngle(), sc, tx.GetTranslation()[0], tx.GetTranslation()[1]]),
            {"xy_metric": best[0].metric, "xy_slab": list(best[1])})


def _itk_transform(p: np.ndarray, centre: np.ndarray) -> Any:
    """SimpleITK ``ComposeScaleSkewVersor3DTransform`` (matrix R·S·K) of the seven parameters, skew 0."""
    import SimpleITK as sitk

    tx = sitk.ComposeScaleSkewVersor3DTransform()
    tx.SetCenter(np.asarray(centre, float).tolist())
    tx.SetParameters(_to_itk(p))
    return tx


def _to_itk(p: np.ndarray) -> list[float]:
    th, sx, sy, sz, tx, ty, tz = (float(v) for v in p)
    return [0.0, 0.0, float(np.sin(th / 2)), tx, ty, tz, sx, sy, sz, 0.0, 0.0, 0.0]


def _from_itk(q: Any) -> np.ndarray:
    q = [float(v) for v in q]
    return np.array([2 * np.arcsin(np.clip(q[2], -1, 1)), q[6], q[7], q[8], q[3], q[4], q[5]])


#: Optimiser weights of the ITK parameters: rotation about z, translations, three scales; no tilt, no skew.
_WEIGHTS = [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]


def _method(seed: int) -> Any:
    import SimpleITK as sitk

    r = sitk.ImageRegistrationMethod()
    r.SetMetricAsMattesMutualInformation(numberOfHistogramBins=BINS)
    r.SetMetricSamplingStrategy(r.NONE)
    r.SetMetricSamplingPercentage(1.0, seed)
    r.SetInterpolator(sitk.sitkLinear)
    return r


def _execute(r: Any, moving_img: Any, fixed_img: Any) -> None:
    """Run a registration method whose initial transform is optimised in place.

    SimpleITK cannot down-cast a ``ComposeScaleSkewVersor3DTransform`` result (``KeyError``) after the
    optimisation has finished; the in-place transform holds the result, so that error is ignored.
    """
    try:
        r.Execute(moving_img, fixed_img)
    except KeyError:
        pass
    except RuntimeError as exc:
        raise NoOverlapError("the volumes do not overlap under the transform (the metric has no valid samples): "
                             f"{str(exc).strip().splitlines()[-1][:120]}") from None


def _z_search(moving_img: Any, fixed_img: Any, xy: np.ndarray, moving: Grid3, fixed: Grid3, scale_range: float,
              seed: int) -> tuple[np.ndarray, int]:
    """Exhaustive search of (s_z, t_z) with ITK's exhaustive optimiser: depth scales on a linear grid over
    ``[1/range, range]``, the cube's centre placed at :data:`DEPTH_SHIFT_STEPS` depths over the fixed
    volume. Of the candidates that keep at least 80 % of the best achievable overlap (mutual information
    of small overlaps is biased upwards), the best metric wins."""
    centre = moving.centre_xyz
    z_lo = fixed.origin_um[0] - fixed.voxel_um[0] / 2
    depth = fixed.shape[0] * fixed.voxel_um[0]
    n_s, n_t = DEPTH_SCALE_STEPS // 2, DEPTH_SHIFT_STEPS // 2
    s_mid = 0.5 * (scale_range + 1 / scale_range)
    ds = (scale_range - s_mid) / n_s
    dt = 0.5 * depth / n_t
    start = np.array([xy[0], xy[1], xy[1], s_mid, xy[2], xy[3], z_lo + depth / 2 - centre[2]])
    tx = _itk_transform(start, centre)
    r = _method(seed)
    r.SetOptimizerAsExhaustive([0, 0, 0, 0, 0, n_t, 0, 0, n_s, 0, 0, 0], stepLength=1.0)
    r.SetOptimizerScales([1, 1, 1, 1, 1, dt, 1, 1, ds, 1, 1, 1])
    r.SetInitialTransform(tx, inPlace=True)
    seen: list[tuple[np.ndarray, float]] = []
    import SimpleITK as sitk

    r.AddCommand(sitk.sitkIterationEvent,
                 lambda: seen.append((_from_itk(r.GetOptimizerPosition()), float(r.GetMetricValue()))))
    _execute(r, moving_img, fixed_img)
    cand = [(p, v, overlap_3d(matrix_from_params(p, centre), moving, fixed, step=3)) for p, v in seen]
    cand = [c for c in cand if np.isfinite(c[1])]
    top = max((c[2] for c in cand), default=0.0)
    if top < MIN_OVERLAP:
        raise NoOverlapError(f"at most {top:.0%} of the SIMS cube falls in the FIB-SEM volume at any depth shift: "
                             "the volumes do not overlap")
    ok = [c for c in cand if c[2] >= 0.8 * top]
    return min(ok, key=lambda c: c[1])[0], len(ok)


def _search_level(mov: np.ndarray, mgrid: Grid3, fixed: np.ndarray, fgrid: Grid3
                  ) -> tuple[np.ndarray, Grid3, np.ndarray, Grid3]:
    """Images for the exhaustive depth search: the cube block-averaged 2× in-plane while it keeps
    ≥ :data:`ionscope.correlate.register.MIN_SEARCH_PX` // 2 pixels a side (the depth axis keeps its
    resolution, which the depth scale is read from), the volume binned to half that pixel. The grid
    keeps the cube's centre, so the search's parameters apply to the full-resolution images."""
    from ionscope.correlate.register import MIN_SEARCH_PX

    if min(mgrid.shape[1:]) < MIN_SEARCH_PX:
        f_b, g_b = _prepare_fixed3(fixed, fgrid, mgrid)
        return mov, mgrid, f_b, g_b
    m_b = _bin(mov, (1, 2, 2))
    vox = (mgrid.voxel_um[0], 2 * mgrid.voxel_um[1], 2 * mgrid.voxel_um[2])
    origin = tuple(o - v / 2 + w / 2 for o, v, w in zip(mgrid.origin_um, mgrid.voxel_um, vox))
    g = Grid3(m_b.shape, vox, origin)
    f_b, g_b = _prepare_fixed3(fixed, fgrid, g)
    return m_b, g, f_b, g_b


def _refine(moving_img: Any, fixed_img: Any, p0: np.ndarray, moving: Grid3, seed: int) -> tuple[np.ndarray, int]:
    """Regular-step gradient descent on the seven parameters (physical-shift scales, two pyramid levels)."""
    tx = _itk_transform(p0, moving.centre_xyz)
    r = _method(seed)
    step = float(np.mean(moving.voxel_um[1:]))
    r.SetOptimizerAsRegularStepGradientDescent(learningRate=step, minStep=1e-4, numberOfIterations=300,
                                               relaxationFactor=0.6, gradientMagnitudeTolerance=1e-8)
    r.SetOptimizerScalesFromPhysicalShift()
    r.SetOptimizerWeights(_WEIGHTS)
    levels = [2, 1] if min(moving.shape) >= 16 else [1]
    r.SetShrinkFactorsPerLevel(levels)
    r.SetSmoothingSigmasPerLevel([max(0.0, (f - 1) / 2) for f in levels])
    r.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    r.SetInitialTransform(tx, inPlace=True)
    _execute(r, moving_img, fixed_img)
    return _from_itk(tx.GetParameters()), int(r.GetOptimizerIteration())


def _crop_fixed(fixed: np.ndarray, fgrid: Grid3, m: np.ndarray, moving: Grid3) -> tuple[np.ndarray, Grid3]:
    """The part of the (binned) fixed volume that the mapped cube reaches, with a margin of two SIMS voxels
    (the metric's set-up cost grows with the image size)."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    lo = np.array([moving.origin_um[2 - a] - moving.voxel_um[2 - a] / 2 for a in range(3)])
    pts = map_xyz(m, lo + corners * moving.extent_xyz)
    margin = 2 * np.array(moving.voxel_um[::-1]) * np.abs(np.diag(m)[:3]).max()
    sl, origin = [], []
    for a in range(3):
        ax = 2 - a
        i0 = int(np.floor((pts[:, a].min() - margin[a] - fgrid.origin_um[ax]) / fgrid.voxel_um[ax]))
        i1 = int(np.ceil((pts[:, a].max() + margin[a] - fgrid.origin_um[ax]) / fgrid.voxel_um[ax])) + 1
        i0, i1 = max(0, i0), min(fgrid.shape[ax], i1)
        sl.append((ax, slice(i0, i1)))
        origin.append((ax, fgrid.origin_um[ax] + i0 * fgrid.voxel_um[ax]))
    sl_zyx = tuple(s for _, s in sorted(sl))
    org = tuple(o for _, o in sorted(origin))
    out = fixed[sl_zyx]
    return out, Grid3(out.shape, fgrid.voxel_um, org)


def register_volumes(fixed: np.ndarray, fixed_grid: Grid3, moving: np.ndarray, moving_grid: Grid3, *,
                     projection: np.ndarray | None = None, initial: np.ndarray | None = None,
                     depth_scale_range: float = DEPTH_SCALE_RANGE, smooth_vox: float = SMOOTH_PX, seed: int = 0,
                     on_stage: Callable[[str], None] | None = None) -> Registration3:
    """Register a SIMS cube (``moving``, z = depth) onto a FIB-SEM volume (``fixed``) with a free depth scale.

    Parameters
    ----------
    fixed, fixed_grid
        The FIB-SEM volume (z, y, x) and its grid (µm, anisotropic voxels allowed).
    moving, moving_grid
        The SIMS cube summed over the chosen species (z, y, x), variance-stabilised if counts, and its
        grid (µm; z from the nominal depth calibration).
    projection
        In-plane image of the cube for the start (default: its mean over depth).
    initial
        4×4 moving → fixed matrix to start from instead of the exhaustive searches.
    depth_scale_range
        The depth-scale search spans ``[1/range, range]`` times the nominal calibration.
    smooth_vox
        Gaussian smoothing (SIMS voxels) of the cube.
    seed
        Seed of the metric sampling.
    on_stage
        Called with the name of each stage.

    Returns
    -------
    Registration3
    """
    stage = on_stage or (lambda _n: None)
    if not depth_scale_range > 1:
        raise ValidationError(f"the depth-scale range must exceed 1, got {depth_scale_range}")
    fixed_b, fgrid_b = _prepare_fixed3(fixed, fixed_grid, moving_grid)
    mov = np.asarray(moving, float)
    mov = ndimage.gaussian_filter(mov, smooth_vox) if smooth_vox > 0 else mov
    centre = moving_grid.centre_xyz
    moving_img, fixed_img = to_sitk3(mov, moving_grid), to_sitk3(fixed_b, fgrid_b)
    search: dict[str, Any] = {}
    if initial is not None:
        p0 = params_from_matrix(initial, centre)
        if overlap_3d(matrix_from_params(p0, centre), moving_grid, fixed_grid) < MIN_OVERLAP:
            raise NoOverlapError(f"the starting transform puts less than {MIN_OVERLAP:.0%} of the SIMS cube in the "
                                 "FIB-SEM volume: the volumes do not overlap")
    else:
        stage("in-plane search (2-D)")
        proj = np.asarray(moving, float).mean(axis=0) if projection is None else projection
        xy, search = _xy_start(fixed, fixed_grid, proj, moving_grid, seed)
        stage("depth scale and shift search")
        s_mov, s_mgrid, s_fix, s_fgrid = _search_level(mov, moving_grid, fixed, fixed_grid)
        p0, n_tried = _z_search(to_sitk3(s_mov, s_mgrid), to_sitk3(s_fix, s_fgrid), xy, moving_grid, fixed_grid,
                                depth_scale_range, seed)
        search["depth_candidates"] = n_tried
    stage("refining (rotation, scales, shifts)")
    p, iters = _refine(moving_img, fixed_img, p0, moving_grid, seed)
    if np.any(p[1:4] <= 0):
        raise NoOverlapError(f"the registration diverged (scales x, y, depth {p[1]:.2f}, {p[2]:.2f}, {p[3]:.2f}): the "
                             "volumes share too little structure to register")
    m = matrix_from_params(p, centre)
    ov = overlap_3d(m, moving_grid, fixed_grid, step=1)
    if ov < MIN_OVERLAP:
        raise NoOverlapError(f"after registration only {ov:.1%} of the SIMS cube lies in the FIB-SEM volume: the "
                             "volumes do not overlap")
    crop, cgrid = _crop_fixed(fixed_b, fgrid_b, m, moving_grid)
    metric = _method(seed)
    crop_img = to_sitk3(crop, cgrid)
    calls = [0]

    def f(q: np.ndarray) -> float:
        calls[0] += 1
        metric.SetInitialTransform(_itk_transform(q, centre), inPlace=False)
        try:
            return float(metric.MetricEvaluate(moving_img, crop_img))
        except RuntimeError:
            return np.inf

    out = Registration3(m, p, -f(p), ov, iters, search=search)
    stage("metric curvature")

    def hessian(p0: np.ndarray, h: np.ndarray) -> np.ndarray:
        return _hessian_exhaustive(moving_img, crop_img, p0, h, centre, seed)

    corr_vox = max(correlation_volume(f) for f in _score_fields(moving_img, crop_img, mov, p, centre))
    out.search["correlation_volume_voxels"] = corr_vox
    _curvature(out, hessian, moving_grid, fixed_grid, corr_vox)
    out.evaluations = iters + calls[0] + 9 * 21
    return out


def _units(params: np.ndarray, moving: Grid3) -> np.ndarray:
    """Parameter steps that move the cube's corners by about one SIMS voxel."""
    ext = moving.extent_xyz
    r_xy = 0.5 * float(np.hypot(ext[0], ext[1]))
    dx, dy, dz = moving.voxel_um[2], moving.voxel_um[1], moving.voxel_um[0]
    return np.array([dx / r_xy, dx / (0.5 * ext[0]), dy / (0.5 * ext[1]), dz / (0.5 * ext[2]),
                     dx * params[1], dy * params[2], dz * params[3]])


#: Index of each of the seven parameters among the twelve of ITK's ComposeScaleSkewVersor3DTransform.
_ITK_INDEX = (2, 6, 7, 8, 3, 4, 5)


def _hessian_exhaustive(moving_img: Any, fixed_img: Any, p0: np.ndarray, h: np.ndarray, centre: np.ndarray,
                        seed: int) -> np.ndarray:
    """Hessian of −MI at ``p0`` by central differences of steps ``h``: for every pair of parameters one
    run of ITK's exhaustive optimiser over the 3 × 3 grid of ±1 steps (one metric set-up per pair
    instead of one per value). The rotation is stepped through the versor component ``sin(θ/2)``, by
    ``h_θ·cos(θ/2)/2``, which is the same step to first order."""
    import SimpleITK as sitk

    n = len(p0)
    q0 = np.array(_to_itk(p0))
    hq = np.asarray(h, float).copy()
    hq[0] = h[0] * np.cos(p0[0] / 2) / 2
    grid: dict[tuple[int, int, int, int], float] = {}
    for i in range(n):
        for j in range(i):
            r = _method(seed)
            steps = [0] * 12
            scales = [1.0] * 12
            for k in (i, j):
                steps[_ITK_INDEX[k]] = 1
                scales[_ITK_INDEX[k]] = float(hq[k])
            r.SetOptimizerAsExhaustive(steps, stepLength=1.0)
            r.SetOptimizerScales(scales)
            tx = _itk_transform(p0, centre)
            r.SetInitialTransform(tx, inPlace=True)

            def record(r: Any = r, i: int = i, j: int = j) -> None:
                q = np.array(r.GetOptimizerPosition())
                a = int(round((q[_ITK_INDEX[i]] - q0[_ITK_INDEX[i]]) / hq[i]))
                b = int(round((q[_ITK_INDEX[j]] - q0[_ITK_INDEX[j]]) / hq[j]))
                grid[(i, j, a, b)] = float(r.GetMetricValue())

            r.AddCommand(sitk.sitkIterationEvent, record)
            try:
                _execute(r, moving_img, fixed_img)
            except NoOverlapError:
                return np.full((n, n), np.nan)
    hess = np.empty((n, n))
    f0 = np.mean([v for (_, _, a, b), v in grid.items() if a == 0 and b == 0])
    for i in range(n):
        other = 1 if i == 0 else 0
        key = (max(i, other), min(i, other))

        def val(a: int, i: int = i, key: tuple[int, int] = key) -> float:
            return grid.get((key[0], key[1], a, 0) if key[0] == i else (key[0], key[1], 0, a), np.nan)

        hess[i, i] = (val(1) - 2 * f0 + val(-1)) / h[i] ** 2
        for j in range(i):
            g = {(a, b): grid.get((i, j, a, b), np.nan) for a in (-1, 1) for b in (-1, 1)}
            hess[i, j] = hess[j, i] = (g[1, 1] - g[1, -1] - g[-1, 1] + g[-1, -1]) / (4 * h[i] * h[j])
    return hess


def _score_fields(moving_img: Any, fixed_img: Any, mov: np.ndarray, params: np.ndarray, centre: np.ndarray
                 ) -> list[np.ma.MaskedArray]:
    """Per-voxel contributions to the gradient of the fit along x, y and z: ``r · ∂g/∂x_a``.

    ``g`` is the FIB-SEM grey level mapped onto each SIMS voxel by the transform, ``r = mov − E[mov | g]``
    what it does not explain of the (smoothed) cube, with ``E[· | g]`` the mean of the cube over
    :data:`ionscope.correlate.register.BINS` quantile bins of ``g`` (the conditional mean that the joint
    histogram of the mutual information encodes). A shift along ``a`` changes the fit by ``Σ r ∂g/∂x_a``
    (rotation and scales are position-weighted shifts), so the spatial correlation of these fields, not
    of ``r`` alone, sets how many independent samples the estimate rests on. Voxels outside the FIB-SEM
    volume are masked."""
    import SimpleITK as sitk

    res = sitk.Resample(fixed_img, moving_img, _itk_transform(params, centre), sitk.sitkLinear, np.nan,
                        sitk.sitkFloat32)
    g = sitk.GetArrayFromImage(res).astype(float)
    ok = np.isfinite(g)
    out = np.zeros_like(mov, dtype=float)
    if ok.sum() < 2 * BINS:
        return [np.ma.MaskedArray(out, ~ok)]
    edges = np.unique(np.quantile(g[ok], np.linspace(0, 1, BINS + 1)))
    b = np.clip(np.searchsorted(edges, g[ok], side="right") - 1, 0, len(edges) - 2)
    m = np.asarray(mov, float)[ok]
    cond = np.bincount(b, m, len(edges) - 1) / np.maximum(np.bincount(b, None, len(edges) - 1), 1)
    out[ok] = m - cond[b]
    grads = np.gradient(np.where(ok, g, float(np.mean(g[ok]))))  # (z, y, x) per voxel
    ok_in = ok & ndimage.binary_erosion(ok, border_value=0)
    return [np.ma.MaskedArray(out * d, ~ok_in) for d in grads[::-1]]


def correlation_volume(residual: np.ma.MaskedArray) -> float:
    """Integral correlation volume (voxels) of a residual field: ``Σ ρ(lag)`` over the lags around 0 where
    the autocorrelation is significant.

    Correlated samples carry less information than independent ones: the mean of ``N`` samples with
    autocorrelation ``ρ`` has the variance of ``N / Σρ`` independent ones (the effective sample size of a
    stationary field; Bartlett 1946, J. R. Stat. Soc. Suppl. 8, 27, doi:10.2307/2983611). ``ρ`` is the
    masked-FFT autocorrelation; the sum runs over the box of lags that reaches, along each axis, the
    first lag where ``ρ`` falls below ``2/√N`` (twice the standard error of an autocorrelation of
    uncorrelated samples), so noise at large lags does not add up and correlation lengths that differ
    between the axes (thin SIMS depth steps, wide pixels) are each followed. For white noise smoothed by a
    Gaussian of σ voxels this is ``(4πσ²)^{3/2}``.
    """
    ok = ~np.ma.getmaskarray(residual)
    n = int(ok.sum())
    if n < 8:
        return 1.0
    r = np.where(ok, np.ma.getdata(residual) - float(np.ma.getdata(residual)[ok].mean()), 0.0)
    shape = [2 * s for s in r.shape]
    axes = tuple(range(r.ndim))
    fr = np.fft.rfftn(r, shape, axes=axes)
    fm = np.fft.rfftn(ok.astype(float), shape, axes=axes)
    num = np.fft.irfftn(np.abs(fr) ** 2, shape, axes=axes)
    pairs = np.fft.irfftn(np.abs(fm) ** 2, shape, axes=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(pairs > 0.5 * n, num / np.maximum(pairs, 1.0), 0.0)
    if cov.flat[0] <= 0:
        return 1.0
    rho = np.fft.fftshift(cov / cov.flat[0])
    centre = tuple(k // 2 for k in shape)
    half = []
    for ax in range(rho.ndim):
        line = rho[tuple(slice(None) if a == ax else c for a, c in enumerate(centre))][centre[ax]:]
        low = np.nonzero(line < 2 / np.sqrt(n))[0]
        half.append(int(low[0]) if len(low) else len(line))
    box = tuple(slice(c - h + 1, c + h) for c, h in zip(centre, half))
    return float(max(1.0, rho[box].sum()))


def _curvature(reg: Registration3, hessian: Callable[[np.ndarray, np.ndarray], np.ndarray], moving: Grid3,
               fixed: Grid3, corr_vox: float) -> None:
    """Parameter covariance and TRE from the Hessian of −MI (central differences of 0.3-voxel steps), with
    the overlapping voxels counted as ``N / corr_vox`` independent samples (:func:`correlation_volume`)."""
    units = _units(reg.params, moving)
    hess = hessian(reg.params, 0.3 * units)
    if not np.all(np.isfinite(hess)):
        reg.note = "the metric is undefined near the optimum (edge of the overlap): no curvature estimate"
        return
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        reg.note = "the metric is not curved upwards at the optimum (flat or saddle): no curvature estimate"
        return
    n_eff = reg.overlap * float(np.prod(moving.shape)) / max(1.0, corr_vox)
    cov = np.linalg.inv(hess) / n_eff
    reg.covariance = cov
    pts = moving.centres(max(1, int(np.ceil(max(moving.shape) / 12))))
    pts = pts[fixed.inside(map_xyz(reg.matrix, pts))]
    if len(pts) == 0:
        reg.note = "no overlapping voxels for a TRE"
        return
    jac = point_jacobian(reg.params, moving.centre_xyz, pts)
    disp = np.einsum("pik,kl,pil->pi", jac, cov, jac)  # per-axis variance (x, y, z) µm²
    reg.tre_um = float(np.sqrt(disp.sum(axis=1).mean()))
    vox = sims_voxel_in_fixed(reg.params, moving)
    reg.tre_voxels = float(np.sqrt((disp / vox ** 2).sum(axis=1).mean()))
    reg.note = "metric curvature"


def sims_voxel_in_fixed(params: np.ndarray, moving: Grid3) -> np.ndarray:
    """Edge lengths (x, y, z) µm of a SIMS voxel in the fixed frame (scaled by ``s`` and ``s_z``)."""
    return np.array([moving.voxel_um[2] * params[1], moving.voxel_um[1] * params[2], moving.voxel_um[0] * params[3]])


def point_jacobian(params: np.ndarray, centre: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(n, 3, 7) derivatives of mapped points (x, y, z) by the seven parameters (central differences)."""
    jac = np.empty((len(pts), 3, len(params)))
    for k in range(len(params)):
        d = np.zeros(len(params))
        d[k] = 1e-6 * max(1.0, abs(params[k]))
        jac[:, :, k] = (map_xyz(matrix_from_params(params + d, centre), pts)
                        - map_xyz(matrix_from_params(params - d, centre), pts)) / (2 * d[k])
    return jac


def bootstrap_volumes(fixed: np.ndarray, fixed_grid: Grid3, resample: Callable[[np.random.Generator], np.ndarray],
                      moving_grid: Grid3, reg: Registration3, n: int, *, smooth_vox: float = SMOOTH_PX, seed: int = 0,
                      on_step: Callable[[], None] | None = None) -> Result:
    """TRE (µm, SIMS voxels) and parameter covariance from ``n`` re-registrations of resampled cubes
    (a Result with ``tre_um``, ``tre_voxels`` and ``covariance``).

    Each replicate draws a new registration volume (``resample``), starts from the optimum moved by a
    normal draw of one SIMS voxel along every axis (the search's precision) and refines again (the
    parametric bootstrap of Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, Chapman &
    Hall, ch. 6). The TRE is the RMS distance of the overlap's mapped voxel centres from their mean
    over the replicates; the covariance is that of the replicates' parameters.
    """
    if n < 2:
        raise ValidationError(f"a bootstrap needs at least 2 re-registrations, got {n}")
    rng = np.random.default_rng(seed)
    centre = moving_grid.centre_xyz
    fixed_b, fgrid_b = _prepare_fixed3(fixed, fixed_grid, moving_grid)
    crop, cgrid = _crop_fixed(fixed_b, fgrid_b, reg.matrix, moving_grid)
    fixed_img = to_sitk3(crop, cgrid)
    units = _units(reg.params, moving_grid)
    draws = []
    for _ in range(n):
        mov = resample(rng)
        mov = ndimage.gaussian_filter(np.asarray(mov, float), smooth_vox) if smooth_vox > 0 else mov
        start = reg.params + rng.normal(0, 1, len(reg.params)) * units * np.array([1, 0, 0, 1, 1, 1, 1])
        try:
            p, _ = _refine(to_sitk3(mov, moving_grid), fixed_img, start, moving_grid, seed)
        except NoOverlapError:
            continue
        draws.append(p)
        if on_step is not None:
            on_step()
    if len(draws) < 2:
        raise NoOverlapError("the bootstrap re-registrations left the overlap: no bootstrap TRE")
    par = np.array(draws)
    pts = moving_grid.centres(max(1, int(np.ceil(max(moving_grid.shape) / 12))))
    pts = pts[fixed_grid.inside(map_xyz(reg.matrix, pts))]
    mapped = np.array([map_xyz(matrix_from_params(q, centre), pts) for q in par])  # (draw, point, 3)
    dev = mapped - mapped.mean(axis=0)
    vox = sims_voxel_in_fixed(reg.params, moving_grid)
    tre_um = float(np.sqrt(np.mean(np.sum(dev ** 2, axis=2))))
    tre_vox = float(np.sqrt(np.mean(np.sum((dev / vox) ** 2, axis=2))))
    return Result("correlate.bootstrap_volumes", {"tre_um": tre_um, "tre_voxels": tre_vox,
                                                   "covariance": np.cov(par.T)})


def fit_landmarks3(moving_xyz: np.ndarray, fixed_xyz: np.ndarray, centre: np.ndarray) -> Result:
    """The seven parameters (:data:`PARAMS`) fitted by least squares to landmark pairs (x, y, z) µm, and the
    RMS residual (µm). At least 4 pairs: seven parameters from three coordinates each.

    Returns
    -------
    Result
        ``kind="correlate.landmark_fit3"``: ``params`` (the seven parameters) and ``rms`` (µm).
    """
    from scipy.optimize import least_squares

    mv, fx = np.asarray(moving_xyz, float), np.asarray(fixed_xyz, float)
    if len(mv) < 4:
        raise ValidationError(f"a 3-D landmark fit needs at least 4 pairs, got {len(mv)}")
    p0 = np.array([0.0, 1.0, 1.0, 1.0, *(fx.mean(axis=0) - mv.mean(axis=0))])
    sol = least_squares(lambda q: (map_xyz(matrix_from_params(q, centre), mv) - fx).ravel(), p0)
    resid = map_xyz(matrix_from_params(sol.x, centre), mv) - fx
    return Result("correlate.landmark_fit3", {"params": sol.x,
                                               "rms": float(np.sqrt(np.mean(np.sum(resid ** 2, axis=1))))})
