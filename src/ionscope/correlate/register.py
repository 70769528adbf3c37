"""Register a coarse image (TOF-SIMS ion image, EDS map) onto a fine one (SEM) in physical units.

The optimiser is SimpleITK's registration framework (Lowekamp et al. 2013, Front. Neuroinform. 7,
45, doi:10.3389/fninf.2013.00045): Mattes mutual information (Mattes et al. 2003, IEEE Trans. Med.
Imaging 22, 120, doi:10.1109/TMI.2002.808360; Viola & Wells 1997, Int. J. Comput. Vis. 24, 137,
doi:10.1023/A:1007958904918), regular-step gradient descent on a multi-resolution pyramid, a
similarity then optionally an affine transform, optionally refined by a B-spline (Rueckert et al.
1999, IEEE Trans. Med. Imaging 18, 712, doi:10.1109/42.796284).

Inside SimpleITK the coarse (moving) image is ITK's *fixed* image: ITK transforms map points of its
fixed image into its moving image, so the optimised ITK transform is directly the map from the
MOVING image's µm to the FIXED image's µm that ionscope stores; the metric is sampled on the coarse
pixels, which carry the information. The fine image is first block-averaged to about half the
coarse pixel size (finer detail cannot be seen through the coarse pixels) and count images are
variance-stabilised (Anscombe) and lightly smoothed.

Target registration error (TRE, Fitzpatrick & West 2001, IEEE Trans. Med. Imaging 20, 917,
doi:10.1109/42.952729) is the RMS displacement error of points of the overlap:

* with landmarks: leave-one-out — each pair is predicted by the transform fitted to the others;
* otherwise from the curvature of the metric at the optimum: maximising mutual information is
  maximum-likelihood estimation of the transform with the joint histogram as intensity model (Roche,
  Malandain & Ayache 2000, Int. J. Imaging Syst. Technol. 11, 71), so ``N_eff · ∇²(−MI)`` is the
  observed Fisher information of the parameters, with ``N_eff`` the independent samples (pixels of
  the overlap divided by the smoothing kernel's area ``4πσ²``); its inverse, mapped through the
  transform's Jacobian at the overlap's pixels, gives the TRE;
* with ``bootstrap``: re-registration of Poisson resamplings of the counts from perturbed starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from ionscope.correlate.grid import Grid, to_sitk
from ionscope.model.errors import ValidationError
from ionscope.model.result import Result


class NoOverlapError(ValidationError):
    """The two images share no (or too little) area under the transform."""


#: Joint-histogram bins of the Mattes metric.
BINS = 32
#: Gaussian smoothing (coarse pixels) of count images before registration.
SMOOTH_PX = 0.7
#: Largest rotation (degrees) and the step of the coarse search over rotations.
MAX_ANGLE = 20.0
ANGLE_STEP = 5.0
#: Largest shift of the centre searched, as a fraction of the moving field of view.
SEARCH_FRACTION = 0.3
#: Smallest side (pixels) of the coarsest pyramid level.
MIN_LEVEL_PX = 24
#: Smallest side (pixels) of the level of the exhaustive search.
MIN_SEARCH_PX = 48
#: Least fraction of the moving pixels that must fall on the fixed image.
MIN_OVERLAP = 0.05


@dataclass
class Registration:
    """The outcome of :func:`register_planes`."""

    transform: Any  # SimpleITK transform, moving µm → fixed µm
    model: str
    metric: float  # Mattes mutual information at the optimum (nats; larger is better)
    overlap: float  # fraction of moving pixels on the fixed image
    iterations: int
    smooth_px: float
    itk_images: tuple[Any, Any] = field(repr=False, default=(None, None))  # (moving, fixed) as registered


def matrix_of(transform: Any) -> np.ndarray:
    """3×3 homogeneous matrix (x, y) of the affine part of a SimpleITK transform."""
    import SimpleITK as sitk

    tx = transform
    if isinstance(tx, sitk.CompositeTransform):
        tx = tx.GetNthTransform(0)
    a = np.array(tx.GetMatrix(), dtype=float).reshape(2, 2)
    c = np.array(tx.GetCenter(), dtype=float)
    t = np.array(tx.GetTranslation(), dtype=float)
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = t + c - a @ c
    return m


def affine_transform(matrix: np.ndarray, centre: np.ndarray | None = None) -> Any:
    """A SimpleITK ``AffineTransform`` of a 3×3 (x, y) matrix."""
    import SimpleITK as sitk

    m = np.asarray(matrix, float)
    tx = sitk.AffineTransform(2)
    c = np.zeros(2) if centre is None else np.asarray(centre, float)
    tx.SetCenter(c.tolist())
    tx.SetMatrix(m[:2, :2].ravel().tolist())
    tx.SetTranslation((m[:2, 2] + m[:2, :2] @ c - c).tolist())
    return tx


def _similarity_from_matrix(matrix: np.ndarray, centre: np.ndarray) -> Any:
    """The SimpleITK ``Similarity2DTransform`` closest to a 3×3 matrix, about ``centre``."""
    import SimpleITK as sitk

    a = np.asarray(matrix, float)[:2, :2]
    tx = sitk.Similarity2DTransform()
    tx.SetCenter(np.asarray(centre, float).tolist())
    tx.SetScale(float(np.sqrt(abs(np.linalg.det(a)))))
    tx.SetAngle(float(np.arctan2(a[1, 0] - a[0, 1], a[0, 0] + a[1, 1])))
    b = np.asarray(matrix, float)[:2, 2]
    tx.SetTranslation((b + a @ centre - centre).tolist())
    return tx


def map_points(transform: Any, xy: np.ndarray) -> np.ndarray:
    """(n, 2) points (x, y) µm mapped by a SimpleITK transform (vectorised for affine ones)."""
    import SimpleITK as sitk

    if not isinstance(transform, (sitk.CompositeTransform, sitk.BSplineTransform, sitk.DisplacementFieldTransform)):
        m = matrix_of(transform)
        return xy @ m[:2, :2].T + m[:2, 2]
    return np.array([transform.TransformPoint((float(x), float(y))) for x, y in xy])


def overlap_fraction(transform: Any, moving: Grid, fixed: Grid, step: int = 4) -> float:
    """Fraction of (a sub-grid of) the moving pixels that land on the fixed image."""
    pts = moving.centres()
    pts = pts.reshape(moving.shape[0], moving.shape[1], 2)[::step, ::step].reshape(-1, 2)
    return float(fixed.inside(map_points(transform, pts)).mean())


def _shrink_factors(shape: tuple[int, int]) -> list[int]:
    f = [1]
    while min(shape) / (f[-1] * 2) >= MIN_LEVEL_PX and len(f) < 4:
        f.append(f[-1] * 2)
    return f[::-1]


def _method(levels: list[int], seed: int, iterations: int = 200, learning_rate: float = 1.0) -> Any:
    import SimpleITK as sitk

    r = sitk.ImageRegistrationMethod()
    r.SetMetricAsMattesMutualInformation(numberOfHistogramBins=BINS)
    r.SetMetricSamplingStrategy(r.NONE)
    r.SetInterpolator(sitk.sitkLinear)
    r.SetOptimizerAsRegularStepGradientDescent(learningRate=learning_rate, minStep=1e-4, numberOfIterations=iterations,
                                               relaxationFactor=0.6, gradientMagnitudeTolerance=1e-8)
    r.SetOptimizerScalesFromPhysicalShift()
    r.SetShrinkFactorsPerLevel(levels)
    r.SetSmoothingSigmasPerLevel([max(0.0, (f - 1) / 2) for f in levels])
    r.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    r.SetMetricSamplingPercentage(1.0, seed)
    return r


def _search(moving_img: Any, fixed_img: Any, moving: Grid, fixed: Grid, shrink: int, seed: int) -> Any:
    """Exhaustive search of rotation and shift on the coarsest level (the capture range of gradient
    descent is a few pixels and degrees): rotations ``±MAX_ANGLE`` in 5° steps, shifts of the centre
    up to ``SEARCH_FRACTION`` of the moving field of view in steps of ``3·shrink`` coarse pixels. The
    level keeps at least :data:`MIN_SEARCH_PX` pixels a side: mutual information estimated from few
    samples is biased upwards, which on smaller levels favours spurious optima of small overlap."""
    import SimpleITK as sitk

    centre = moving.centre_xy
    start = sitk.Similarity2DTransform()
    start.SetCenter(centre.tolist())
    start.SetTranslation((fixed.centre_xy - centre).tolist())
    t_step = 3 * shrink * max(moving.pixel_um)
    n_t = max(1, int(np.ceil(SEARCH_FRACTION * max(moving.shape) * max(moving.pixel_um) / t_step)))
    n_a = int(MAX_ANGLE // ANGLE_STEP)
    r = _method([shrink], seed)
    r.SetOptimizerAsExhaustive([0, n_a, n_t, n_t], stepLength=1.0)
    r.SetOptimizerScales([1.0, np.deg2rad(ANGLE_STEP), t_step, t_step])
    r.SetInitialTransform(start, inPlace=True)
    r.SetSmoothingSigmasPerLevel([shrink / 2])
    _run(r, moving_img, fixed_img, start)
    return start


def _run(method: Any, moving_img: Any, fixed_img: Any, initial: Any) -> tuple[Any, float, int]:
    try:
        out = method.Execute(moving_img, fixed_img)
    except RuntimeError as exc:
        if "outside" in str(exc) or "valid" in str(exc).lower() or "Too many samples" in str(exc):
            raise NoOverlapError("the images do not overlap under the transform (all samples map outside "
                                 "the fixed image)") from None
        raise
    return out, float(method.GetMetricValue()), int(method.GetOptimizerIteration())


def _prepare_fixed(plane: np.ndarray, grid: Grid, moving: Grid) -> tuple[Any, Grid]:
    """The fine image block-averaged to about half the coarse pixel size, as a SimpleITK image."""
    import SimpleITK as sitk

    factor = max(1, int(min(moving.pixel_um[0] / grid.pixel_um[0], moving.pixel_um[1] / grid.pixel_um[1]) // 2))
    img = to_sitk(plane, grid)
    if factor > 1:
        img = sitk.BinShrink(img, [factor, factor])
    sp, org = img.GetSpacing(), img.GetOrigin()
    return img, Grid((img.GetSize()[1], img.GetSize()[0]), (sp[1], sp[0]), (org[1], org[0]))


def _prepare_moving(plane: np.ndarray, grid: Grid, smooth_px: float) -> Any:
    """The coarse image (already variance-stabilised if it holds counts), lightly smoothed."""
    p = ndimage.gaussian_filter(np.asarray(plane, float), smooth_px) if smooth_px > 0 else np.asarray(plane, float)
    return to_sitk(p, grid)


def register_planes(fixed: np.ndarray, fixed_grid: Grid, moving: np.ndarray, moving_grid: Grid, *,
                    model: str = "similarity", initial: np.ndarray | None = None, bspline_mesh: int = 0,
                    smooth_px: float = SMOOTH_PX, seed: int = 0) -> Registration:
    """Register ``moving`` (coarse) onto ``fixed`` (fine) by Mattes mutual information.

    Parameters
    ----------
    fixed, fixed_grid
        The fine image (y, x) and its grid (µm).
    moving, moving_grid
        The coarse image (y, x; variance-stabilised if counts) and its grid (µm).
    model
        ``"similarity"`` (shift, rotation, isotropic scale) or ``"affine"``.
    initial
        3×3 moving → fixed matrix to start from (e.g. from landmarks); default: an exhaustive search
        of rotation and shift on the coarsest level around the aligned centres.
    bspline_mesh
        Control-point mesh size per side of a B-spline refinement (0: none).
    smooth_px
        Gaussian smoothing (coarse pixels) of the moving image.
    seed
        Seed of the metric sampling.

    Returns
    -------
    Registration
    """
    import SimpleITK as sitk

    if model not in ("similarity", "affine"):
        raise ValidationError(f"unknown transform model {model!r}; use similarity or affine")
    fixed_img, _ = _prepare_fixed(fixed, fixed_grid, moving_grid)
    moving_img = _prepare_moving(moving, moving_grid, smooth_px)
    centre = moving_grid.centre_xy
    levels = _shrink_factors(moving_grid.shape)
    if initial is not None:
        start = _similarity_from_matrix(initial, centre)
        if overlap_fraction(start, moving_grid, fixed_grid) < MIN_OVERLAP:
            raise NoOverlapError(f"the starting transform puts less than {MIN_OVERLAP:.0%} of the moving image "
                                 "on the fixed image: the images do not overlap")
    else:
        search = max([f for f in levels if min(moving_grid.shape) / f >= MIN_SEARCH_PX] or [1])
        start = _search(moving_img, fixed_img, moving_grid, fixed_grid, search, seed)
    step = max(moving_grid.pixel_um)  # first step: one coarse pixel of shift (physical-shift scales)
    r = _method(levels, seed, learning_rate=step)
    r.SetInitialTransform(start, inPlace=False)
    out, val, iters = _run(r, moving_img, fixed_img, start)
    tx = sitk.Similarity2DTransform(out.GetNthTransform(0)) if isinstance(out, sitk.CompositeTransform) else out
    if model == "affine":
        aff = sitk.AffineTransform(2)
        aff.SetCenter(tx.GetCenter())
        aff.SetMatrix(tx.GetMatrix())
        aff.SetTranslation(tx.GetTranslation())
        r = _method(levels[-2:], seed, learning_rate=0.2 * step)
        r.SetInitialTransform(aff, inPlace=False)
        out, aval, it2 = _run(r, moving_img, fixed_img, aff)
        iters += it2
        if aval <= val:  # keep the similarity (as an affine) if the affine search wandered off
            tx = sitk.AffineTransform(out.GetNthTransform(0)) if isinstance(out, sitk.CompositeTransform) else out
            val = aval
        else:
            tx = aff
    final: Any = tx
    if bspline_mesh > 0:
        final, val, it3 = _bspline(tx, moving_img, fixed_img, bspline_mesh, seed)
        iters += it3
    ov = overlap_fraction(final, moving_grid, fixed_grid)
    if ov < MIN_OVERLAP:
        raise NoOverlapError(f"after registration only {ov:.1%} of the moving image lies on the fixed image: "
                             "the images do not overlap")
    return Registration(final, model, -val, ov, iters, smooth_px, (moving_img, fixed_img))


def _bspline(affine: Any, moving_img: Any, fixed_img: Any, mesh: int, seed: int) -> tuple[Any, float, int]:
    """B-spline refinement on top of ``affine``: a composite transform (affine first, then B-spline)."""
    import SimpleITK as sitk

    bs = sitk.BSplineTransformInitializer(moving_img, [mesh, mesh], order=3)
    r = sitk.ImageRegistrationMethod()
    r.SetMetricAsMattesMutualInformation(numberOfHistogramBins=BINS)
    r.SetMetricSamplingStrategy(r.NONE)
    r.SetInterpolator(sitk.sitkLinear)
    r.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=60)
    r.SetMovingInitialTransform(affine)
    r.SetInitialTransform(bs, inPlace=True)
    r.SetMetricSamplingPercentage(1.0, seed)
    try:
        r.Execute(moving_img, fixed_img)
    except RuntimeError as exc:
        raise NoOverlapError(f"B-spline refinement failed: {str(exc).splitlines()[-1]}") from None
    comp = sitk.CompositeTransform(2)
    comp.AddTransform(affine)
    comp.AddTransform(bs)
    return comp, float(r.GetMetricValue()), int(r.GetOptimizerIteration())


# ----------------------------------------------------------------------------------------------
# Target registration error


def _overlap_points(transform: Any, moving: Grid, fixed: Grid, n: int = 16) -> np.ndarray:
    """About n² moving pixel centres (x, y) µm that land on the fixed image."""
    ys = np.linspace(0, moving.shape[0] - 1, min(n, moving.shape[0]))
    xs = np.linspace(0, moving.shape[1] - 1, min(n, moving.shape[1]))
    gx, gy = np.meshgrid(moving.origin_um[1] + xs * moving.pixel_um[1], moving.origin_um[0] + ys * moving.pixel_um[0])
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    return pts[fixed.inside(map_points(transform, pts))]


def _param_jacobians(transform: Any, pts: np.ndarray) -> np.ndarray:
    """(n_points, 2, n_params) derivatives of mapped points by the transform parameters."""
    p0 = np.array(transform.GetParameters(), float)
    jac = np.empty((len(pts), 2, len(p0)))
    for k in range(len(p0)):
        h = 1e-6 * max(1.0, abs(p0[k]))
        up, dn = p0.copy(), p0.copy()
        up[k] += h
        dn[k] -= h
        transform.SetParameters(up.tolist())
        a = map_points(transform, pts)
        transform.SetParameters(dn.tolist())
        b = map_points(transform, pts)
        jac[:, :, k] = (a - b) / (2 * h)
    transform.SetParameters(p0.tolist())
    return jac


def _curvature(tre: float | None, cov: np.ndarray | None, note: str) -> Result:
    return Result("correlate.curvature_tre", {"tre": tre, "covariance": cov, "note": note})


def curvature_tre(reg: Registration, moving: Grid, fixed: Grid) -> Result:
    """TRE (µm) from the Hessian of the metric at the optimum; also the parameter covariance.

    Returns a Result (``kind="correlate.curvature_tre"``) with ``tre`` (µm), ``covariance`` (of the
    transform parameters) and ``note``; ``tre`` is ``None`` (and ``note`` says why) when the
    curvature is not positive definite or the transform is not a similarity/affine one.
    """
    import SimpleITK as sitk

    tx = reg.transform
    if isinstance(tx, sitk.CompositeTransform):
        return _curvature(None, None, "the metric curvature is not evaluated for B-spline transforms; use --bootstrap")
    moving_img, fixed_img = reg.itk_images
    pts = _overlap_points(tx, moving, fixed)
    if len(pts) < 3:
        return _curvature(None, None, "too few overlapping pixels for a curvature estimate")
    jac = _param_jacobians(tx, pts)
    reach = np.sqrt((jac ** 2).sum(axis=1)).max(axis=0)  # µm per unit parameter, worst point
    step = 0.3 * min(moving.pixel_um) / np.maximum(reach, 1e-12)
    p0 = np.array(tx.GetParameters(), float)
    r = _method([1], 0)
    r.SetInitialTransform(tx, inPlace=False)
    probe = type(tx)(tx)

    def f(p: np.ndarray) -> float:
        probe.SetParameters(p.tolist())
        r.SetInitialTransform(probe, inPlace=False)
        return float(r.MetricEvaluate(moving_img, fixed_img))

    n = len(p0)
    f0 = f(p0)
    hess = np.empty((n, n))
    e = np.eye(n)
    for i in range(n):
        hess[i, i] = (f(p0 + step[i] * e[i]) - 2 * f0 + f(p0 - step[i] * e[i])) / step[i] ** 2
        for j in range(i):
            hi, hj = step[i] * e[i], step[j] * e[j]
            hess[i, j] = hess[j, i] = (f(p0 + hi + hj) - f(p0 + hi - hj) - f(p0 - hi + hj) + f(p0 - hi - hj)) / (
                4 * step[i] * step[j])
    n_valid = overlap_fraction(tx, moving, fixed, step=1) * moving.shape[0] * moving.shape[1]
    n_eff = n_valid / max(1.0, 4 * np.pi * reg.smooth_px ** 2)
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return _curvature(None, None, "the metric is not curved upwards at the optimum (flat or saddle): no "
                                      "curvature estimate")
    cov = np.linalg.inv(hess) / n_eff
    tre2 = np.einsum("pik,kl,pil->p", jac, cov, jac).mean()
    return _curvature(float(np.sqrt(tre2)), cov, "metric curvature")


def landmark_fit(moving_xy: np.ndarray, fixed_xy: np.ndarray, model: str) -> np.ndarray:
    """Least-squares 3×3 matrix (moving → fixed, (x, y) µm) from landmark pairs (Umeyama 1991 for
    the similarity, IEEE Trans. Pattern Anal. Mach. Intell. 13, 376, doi:10.1109/34.88573)."""
    from skimage.transform import AffineTransform, SimilarityTransform

    cls = SimilarityTransform if model == "similarity" else AffineTransform
    src, dst = np.asarray(moving_xy, float), np.asarray(fixed_xy, float)
    if hasattr(cls, "from_estimate"):  # scikit-image ≥ 0.26
        tf = cls.from_estimate(src, dst)
        ok = bool(tf)
    else:  # pragma: no cover - older scikit-image
        tf = cls()
        ok = tf.estimate(src, dst)
    if not ok or not np.all(np.isfinite(tf.params)) or abs(np.linalg.det(tf.params[:2, :2])) < 1e-12:
        raise ValidationError("the landmarks do not determine a transform (collinear or repeated points)")
    return np.asarray(tf.params, float)


def landmark_tre(moving_xy: np.ndarray, fixed_xy: np.ndarray, model: str) -> float | None:
    """Leave-one-out TRE (µm): RMS error of each pair predicted by the fit to the other pairs."""
    n = len(moving_xy)
    need = 3 if model == "similarity" else 4
    if n < need:
        return None
    err = []
    for i in range(n):
        keep = np.arange(n) != i
        m = landmark_fit(moving_xy[keep], fixed_xy[keep], model)
        pred = m[:2, :2] @ moving_xy[i] + m[:2, 2]
        err.append(np.sum((pred - fixed_xy[i]) ** 2))
    return float(np.sqrt(np.mean(err)))


def landmark_residual(transform: Any, moving_xy: np.ndarray, fixed_xy: np.ndarray) -> float:
    """RMS distance (µm) between mapped moving landmarks and their fixed partners."""
    return float(np.sqrt(np.mean(np.sum((map_points(transform, moving_xy) - fixed_xy) ** 2, axis=1))))


def bootstrap_tre(reg: Registration, fixed: np.ndarray, fixed_grid: Grid, resample: Callable[[np.random.Generator],
                  np.ndarray], moving_grid: Grid, n: int, *, seed: int = 0,
                  on_step: Callable[[], None] | None = None) -> Result:
    """TRE (µm) as the spread of re-registrations of resampled moving images from perturbed starts.

    Each replicate draws a new moving image (``resample``), starts from the optimum shifted by a
    normal draw of one coarse pixel and rotated by one degree (1σ), and registers again; the TRE is
    the RMS distance of the overlap's mapped points from their mean over the replicates.
    """
    rng = np.random.default_rng(seed)
    pts = _overlap_points(reg.transform, moving_grid, fixed_grid)
    base = matrix_of(reg.transform)
    mapped, matrices = [], []
    for _ in range(n):
        th = np.deg2rad(rng.normal(0, 1.0))
        d = rng.normal(0, 1.0, 2) * np.array(moving_grid.pixel_um[::-1])
        pert = np.eye(3)
        pert[:2, :2] = [[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]
        c = fixed_grid.centre_xy
        pert[:2, 2] = c - pert[:2, :2] @ c + d
        start = pert @ base
        rep = register_planes(fixed, fixed_grid, resample(rng), moving_grid, model=reg.model, initial=start,
                              smooth_px=reg.smooth_px, seed=int(rng.integers(1 << 30)))
        mapped.append(map_points(rep.transform, pts))
        matrices.append(matrix_of(rep.transform))
        if on_step:
            on_step()
    stack = np.stack(mapped)
    spread = stack - stack.mean(axis=0)
    return Result("correlate.bootstrap_tre", {"tre": float(np.sqrt(np.mean(np.sum(spread ** 2, axis=2)))),
                                               "matrices": matrices})
