"""Registration: sub-pixel drift of image series, and alignment of an external image (SEM) to SIMS.

Translation (drift) between frames is found by phase correlation on the *normalised* cross-power
spectrum ``R = F G* / |F G*|`` (Kuglin & Hines 1975): only the phase of the spectrum is used, so
a change of intensity or contrast between frames (the very signal an operando series measures)
does not move the peak. Frames are optionally smoothed and turned into gradient-magnitude images
first (edges are what stays put when yields change), and apodised with a Tukey window. The peak
is refined with the upsampled matrix-multiply DFT of Guizar-Sicairos, Thurman & Fienup, *Opt.
Lett.* 33, 156 (2008), evaluated for a whole batch of frames at once (batched matrix products on the half spectrum of
the real FFT, in single precision).

Shift convention (as scikit-image's ``phase_cross_correlation``): ``shift`` is the (dy, dx) in
pixels that, applied to the moving frame (``apply_shifts``), registers it with the reference. A
sample that drifted by +d appears with shift −d.

External images (SEM of the same area, another pixel size) are aligned by landmarks (least-squares
affine, :func:`affine_from_landmarks`) or by maximising mutual information over a similarity or
affine transform (:func:`register_intensity`, Viola & Wells 1997; Mattes et al. 2003).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
from scipy import fft as sfft
from scipy import ndimage, optimize

from ionscope.model.errors import ValidationError
from ionscope.model.result import Result

#: Frames processed per FFT batch (bounds memory: batch × ny × nx complex128).
BATCH = 16
#: Threads of the FFTs (scipy.fft ``workers``; -1 = all cores).
WORKERS = -1


def _as_stack(stack: Any) -> np.ndarray:
    a = np.asarray(stack)
    if a.ndim != 3:
        raise ValidationError(f"expected a stack of 2-D frames (n, y, x), got shape {a.shape}")
    if a.shape[1] < 8 or a.shape[2] < 8:
        raise ValidationError(f"frames of {a.shape[1]}×{a.shape[2]} pixels are too small to register")
    return a


def tukey_window(shape: tuple[int, int], alpha: float = 0.25) -> np.ndarray:
    """2-D Tukey (tapered cosine) window; suppresses the edge discontinuity of the periodic FFT."""
    def taper(n: int) -> np.ndarray:
        x = np.linspace(0.0, 1.0, n)
        w = np.ones(n)
        edge = alpha / 2
        if edge > 0:
            lo, hi = x < edge, x > 1 - edge
            w[lo] = 0.5 * (1 + np.cos(np.pi * (x[lo] / edge - 1)))
            w[hi] = 0.5 * (1 + np.cos(np.pi * ((x[hi] - 1) / edge + 1)))
        return w

    return np.outer(taper(shape[0]), taper(shape[1]))


def prepare_frames(frames: np.ndarray, *, smooth_px: float = 1.0, edges: bool = True,
                   window: np.ndarray | None = None) -> np.ndarray:
    """Frames as registration sees them: smoothed, gradient magnitude (``edges``), zero-mean, windowed.

    With ``edges`` the Gaussian-smoothed gradient is computed in Fourier space (one real FFT and two
    inverse FFTs per frame); without, the frames are smoothed in real space.
    """
    f = np.asarray(frames, dtype=np.float32)
    if edges:
        # smoothed gradient in one pass through Fourier space: ∇(G * f) = IFFT(2πi k · Ĝ · F)
        ny, nx = f.shape[1:]
        ky = np.fft.fftfreq(ny)[:, None].astype(np.float32)
        kx = np.fft.rfftfreq(nx)[None, :].astype(np.float32)
        gauss = np.exp(-2 * (np.pi * smooth_px) ** 2 * (ky**2 + kx**2)).astype(np.float32)
        spec = sfft.rfft2(f - f.mean(axis=(1, 2), keepdims=True), axes=(1, 2), workers=WORKERS) * gauss
        gy = sfft.irfft2(spec * (2j * np.pi * ky), s=(ny, nx), axes=(1, 2), workers=WORKERS)
        gx = sfft.irfft2(spec * (2j * np.pi * kx), s=(ny, nx), axes=(1, 2), workers=WORKERS)
        f = np.hypot(gy, gx)
    elif smooth_px > 0:
        f = ndimage.gaussian_filter(f, sigma=(0, smooth_px, smooth_px))
    f = f - f.mean(axis=(1, 2), keepdims=True)
    if window is not None:
        f = f * window
    return f


def _upsampled_correlation(half: np.ndarray, nx: int, region: int, upsample: float,
                           offsets: np.ndarray) -> np.ndarray:
    """Cross-correlation on a ``region``² grid at 1/``upsample`` px from a half (rfft) spectrum.

    The matrix-multiply DFT of Guizar-Sicairos et al. (2008), evaluated for a batch with two
    matrix products. The correlation is real and the spectrum Hermitian, so the negative-x
    frequencies are the conjugates of the positive ones: ``c = Re(E_y · P · (α E_x))`` with
    ``α = 2`` except at x-frequency 0 and Nyquist. ``offsets`` (n, 2) is the position (upsampled
    px) of the region's first sample.
    """
    n, ny, nxh = half.shape
    ky = np.fft.fftfreq(ny) * ny
    kx = np.arange(nxh, dtype=float)
    alpha = np.full(nxh, 2.0)
    alpha[0] = 1.0
    if nx % 2 == 0:
        alpha[-1] = 1.0
    r = np.arange(region)
    ey = np.exp((2j * np.pi / (ny * upsample)) * (r[None, :, None] - offsets[:, 0, None, None]) * ky[None, None, :])
    ex = np.exp((2j * np.pi / (nx * upsample)) * kx[None, :, None] * (r[None, None, :] - offsets[:, 1, None, None]))
    ex = ex * alpha[None, :, None]
    dtype = half.dtype
    return np.matmul(np.matmul(ey.astype(dtype), half), ex.astype(dtype)).real


def _cross_power(ref_f: np.ndarray, mov_f: np.ndarray, eps: float) -> np.ndarray:
    cp = ref_f[None] * np.conj(mov_f)
    mag = np.abs(cp)
    return cp / (mag + eps * mag.max(axis=(1, 2), keepdims=True))


@overload
def estimate_shifts(stack: Any, reference: int | str | np.ndarray = 0, *, upsample: int = 20,
                    smooth_px: float = 2.0, edges: bool = True, window_alpha: float = 0.25,
                    normalise: bool = True, eps: float = 1e-3, batch: int = BATCH,
                    return_error: Literal[False] = False) -> np.ndarray: ...


@overload
def estimate_shifts(stack: Any, reference: int | str | np.ndarray = 0, *, upsample: int = 20,
                    smooth_px: float = 2.0, edges: bool = True, window_alpha: float = 0.25,
                    normalise: bool = True, eps: float = 1e-3, batch: int = BATCH,
                    return_error: Literal[True]) -> Result: ...


def estimate_shifts(stack: Any, reference: int | str | np.ndarray = 0, *, upsample: int = 20,
                    smooth_px: float = 2.0, edges: bool = True, window_alpha: float = 0.25,
                    normalise: bool = True, eps: float = 1e-3, batch: int = BATCH,
                    return_error: bool = False) -> np.ndarray | Result:
    """Sub-pixel translation of every frame of ``stack`` relative to a reference.

    Parameters
    ----------
    stack
        Frames (n, y, x): a stable channel or the total-ion image of each state.
    reference
        Frame index, ``"mean"`` (mean of all frames; iterate for drifting series), ``"previous"``
        (each frame against the one before, shifts accumulated), or a 2-D reference image.
    upsample
        Refinement factor (precision ``1/upsample`` px); 1 gives whole pixels.
    smooth_px, edges, window_alpha
        Gaussian pre-smoothing (px), use of gradient-magnitude images, Tukey taper.
    normalise
        Phase correlation (normalised cross-power, robust to intensity changes) instead of plain
        cross-correlation.
    eps
        Regularisation of the normalisation, relative to the largest cross-power magnitude.
    batch
        Frames per FFT batch (memory ≈ batch × y × x × 16 bytes × 4).
    return_error
        Also return the peak height of the normalised correlation (1 = perfect match).

    Returns
    -------
    numpy.ndarray or Result
        (n, 2) array of (dy, dx) in pixels that register each frame with the reference
        (:func:`apply_shifts`); with ``return_error`` a :class:`~ionscope.model.result.Result` of
        ``kind="imaging.shifts"`` holding ``shifts`` (that array, px) and ``peak_heights`` ((n,) peak
        heights of the correlation, 1 = perfect match).
    """
    a = _as_stack(stack)
    n, ny, nx = a.shape
    if upsample < 1:
        raise ValidationError(f"upsample must be ≥ 1, got {upsample}")
    win = tukey_window((ny, nx), window_alpha).astype(np.float32) if window_alpha > 0 else None
    prep: dict[str, Any] = {"smooth_px": smooth_px, "edges": edges, "window": win}  # prepare_frames options
    if isinstance(reference, str) and reference == "previous":
        pair = np.zeros((n, 2))
        peaks = np.ones(n)
        for i in range(1, n):
            one = estimate_shifts(a[i:i + 1], a[i - 1], upsample=upsample, smooth_px=smooth_px, edges=edges,
                                  window_alpha=window_alpha, normalise=normalise, eps=eps, return_error=True)
            pair[i], peaks[i] = one.shifts[0], one.peak_heights[0]
        shifts = np.cumsum(pair, axis=0)
        return _shifts_result(shifts, peaks) if return_error else shifts
    if isinstance(reference, str):
        if reference != "mean":
            raise ValidationError(f"reference must be an index, 'mean', 'previous' or an image, got {reference!r}")
        ref_img = a.mean(axis=0)
    elif np.ndim(reference) == 0:
        idx = int(reference)
        if not -n <= idx < n:
            raise ValidationError(f"reference frame {idx} is outside the stack of {n} frames")
        ref_img = a[idx]
    else:
        ref_img = np.asarray(reference, dtype=float)
        if ref_img.shape != (ny, nx):
            raise ValidationError(f"reference image has shape {ref_img.shape}, frames are {(ny, nx)}")
    ref_f = sfft.rfft2(prepare_frames(ref_img[None], **prep)[0], workers=WORKERS)
    shifts = np.zeros((n, 2))
    heights = np.zeros(n)
    midpoints = np.array([ny // 2, nx // 2])
    for b0 in range(0, n, batch):
        mov_f = sfft.rfft2(prepare_frames(a[b0:b0 + batch], **prep), axes=(1, 2), workers=WORKERS)
        cp = _cross_power(ref_f, mov_f, eps) if normalise else ref_f[None] * np.conj(mov_f)
        corr = sfft.irfft2(cp, s=(ny, nx), axes=(1, 2), workers=WORKERS)
        flat = corr.reshape(corr.shape[0], -1).argmax(axis=1)
        coarse = np.stack(np.unravel_index(flat, (ny, nx)), axis=1).astype(float)
        coarse = np.where(coarse > midpoints, coarse - np.array([ny, nx]), coarse)
        if upsample > 1:
            coarse = np.round(coarse * upsample) / upsample
            region = int(np.ceil(upsample * 1.5))
            centre = np.fix(region / 2.0)
            offsets = centre - coarse * upsample
            up = _upsampled_correlation(cp, nx, region, upsample, offsets)
            fl = up.reshape(up.shape[0], -1).argmax(axis=1)
            loc = np.stack(np.unravel_index(fl, (region, region)), axis=1).astype(float)
            refined = coarse + (loc - centre) / upsample
            heights[b0:b0 + batch] = up.reshape(up.shape[0], -1).max(axis=1) / (ny * nx)
        else:
            refined = coarse
            heights[b0:b0 + batch] = corr.reshape(corr.shape[0], -1).max(axis=1)
        shifts[b0:b0 + batch] = refined
    return _shifts_result(shifts, heights) if return_error else shifts


def _shifts_result(shifts: np.ndarray, peak_heights: np.ndarray) -> Result:
    return Result("imaging.shifts", {"shifts": shifts, "peak_heights": peak_heights})


def apply_shifts(stack: Any, shifts: Any, *, method: str = "linear", fill: float = np.nan) -> np.ndarray:
    """Shift every frame of ``stack`` (n, y, x[, c]) by ``shifts`` (n, 2) pixels.

    ``method="linear"`` interpolates bilinearly (non-negative counts stay non-negative; pixels
    moved in from outside get ``fill``); ``"fourier"`` multiplies by a phase ramp (exact for
    band-limited images, periodic at the edges). Channels after the first three axes are shifted
    alike.
    """
    a = np.asarray(stack)
    s = np.asarray(shifts, dtype=float)
    if a.ndim < 3 or s.shape != (a.shape[0], 2):
        raise ValidationError(f"need a stack (n, y, x[, c]) and (n, 2) shifts, got {a.shape} and {s.shape}")
    out = np.empty(a.shape, dtype=np.float64)
    if method == "fourier":
        ky = np.fft.fftfreq(a.shape[1])[:, None]
        kx = np.fft.fftfreq(a.shape[2])[None, :]
        for i in range(a.shape[0]):
            ramp = np.exp(-2j * np.pi * (ky * s[i, 0] + kx * s[i, 1]))
            if a.ndim > 3:
                ramp = ramp.reshape(ramp.shape + (1,) * (a.ndim - 3))
            out[i] = np.fft.ifft2(np.fft.fft2(a[i], axes=(0, 1)) * ramp, axes=(0, 1)).real
        return out
    if method != "linear":
        raise ValidationError(f"unknown shift method {method!r}; use 'linear' or 'fourier'")
    for i in range(a.shape[0]):
        sh = (s[i, 0], s[i, 1]) + (0.0,) * (a.ndim - 3)
        out[i] = ndimage.shift(a[i].astype(np.float64), sh, order=1, mode="constant", cval=fill, prefilter=False)
    return out


# ---------------------------------------------------------------------------------------------
# External images: affine transforms in (row, col) pixel coordinates. A 3×3 matrix M maps a point
# of the *fixed* (SIMS) image to the *moving* (SEM) image: [r_m, c_m, 1] = M @ [r_f, c_f, 1].


def affine_from_landmarks(fixed_pts: Any, moving_pts: Any) -> Result:
    """Least-squares affine transform from ≥ 3 landmark pairs.

    Parameters
    ----------
    fixed_pts, moving_pts
        (k, 2) arrays of (row, col) positions of the same features in the fixed (SIMS) and moving
        (SEM) images.

    Returns
    -------
    Result
        ``kind="imaging.landmarks"``: ``matrix`` (3×3, fixed → moving coordinates) and ``rms`` (the RMS
        landmark residual, moving px).
    """
    f = np.asarray(fixed_pts, dtype=float)
    m = np.asarray(moving_pts, dtype=float)
    if f.shape != m.shape or f.ndim != 2 or f.shape[1] != 2:
        raise ValidationError(f"landmarks must be two (k, 2) arrays of the same shape, got {f.shape} and {m.shape}")
    if f.shape[0] < 3:
        raise ValidationError(f"an affine fit needs at least 3 landmark pairs, got {f.shape[0]}")
    design = np.c_[f, np.ones(len(f))]
    if np.linalg.matrix_rank(design) < 3:
        raise ValidationError("landmarks are collinear: they do not determine an affine transform")
    coef, *_ = np.linalg.lstsq(design, m, rcond=None)
    matrix = np.eye(3)
    matrix[:2, :] = coef.T
    rms = float(np.sqrt(np.mean(np.sum((design @ coef - m) ** 2, axis=1))))
    return Result("imaging.landmarks", {"matrix": matrix, "rms": rms})


def similarity_matrix(params: Sequence[float], scale0: float = 1.0) -> np.ndarray:
    """Matrix of a similarity transform (dy, dx, angle rad, log-scale) about the origin."""
    dy, dx, ang, logs = params
    s = scale0 * np.exp(logs)
    c, si = np.cos(ang), np.sin(ang)
    return np.array([[s * c, -s * si, dy], [s * si, s * c, dx], [0, 0, 1.0]])


def warp_image(moving: Any, matrix: np.ndarray, output_shape: tuple[int, int], *, order: int = 1,
               fill: float = np.nan, mode: str = "constant") -> np.ndarray:
    """Resample ``moving`` onto the fixed grid of ``output_shape`` (``order=0`` for label images).

    Pixels mapped from outside ``moving`` get ``fill`` (``mode="constant"``) or, with
    ``mode="nearest"``, the nearest edge pixel.
    """
    mv = np.asarray(moving)
    dtype = mv.dtype if order == 0 else np.float64
    cval = 0 if order == 0 else fill
    return ndimage.affine_transform(mv.astype(dtype), matrix[:2, :2], offset=matrix[:2, 2],
                                    output_shape=tuple(output_shape), order=order, mode=mode,
                                    cval=cval, prefilter=False)


def mutual_information(a: np.ndarray, b: np.ndarray, bins: int = 32) -> float:
    """Mutual information (nats) of two images over their finite pixels, from a joint histogram."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < bins * 4:
        return 0.0
    h, _, _ = np.histogram2d(a[ok], b[ok], bins=bins)
    p = h / h.sum()
    px, py = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / (px @ py)[nz])))


def register_intensity(fixed: Any, moving: Any, *, scale: float = 1.0, model: str = "similarity",
                       initial: np.ndarray | None = None, metric: str = "mi", smooth_px: float = 1.0,
                       bins: int = 32) -> Result:
    """Align ``moving`` (e.g. an SEM image) to ``fixed`` (a SIMS image) by maximising similarity.

    Parameters
    ----------
    fixed, moving
        2-D images; they may differ in size and pixel size.
    scale
        Initial moving pixels per fixed pixel (SIMS pixel size ÷ SEM pixel size).
    model
        ``"similarity"`` (shift, rotation, scale) or ``"affine"`` (6 parameters, started from the
        best similarity).
    initial
        Initial 3×3 fixed → moving matrix (e.g. from landmarks); overrides ``scale``.
    metric
        ``"mi"`` (mutual information; different modalities) or ``"ncc"`` (normalised
        cross-correlation; same contrast).

    Returns
    -------
    Result
        ``kind="imaging.register_intensity"``: ``matrix`` (3×3, fixed → moving), ``metric`` (its value
        at the optimum), ``metric_name`` and ``success``; item access (``r["matrix"]``) works too.
    """
    fx = ndimage.gaussian_filter(np.asarray(fixed, dtype=float), smooth_px)
    mv = ndimage.gaussian_filter(np.asarray(moving, dtype=float), smooth_px * max(scale, 1.0))
    if fx.ndim != 2 or mv.ndim != 2:
        raise ValidationError("register_intensity needs two 2-D images")
    if metric not in ("mi", "ncc"):
        raise ValidationError(f"unknown metric {metric!r}; use 'mi' or 'ncc'")

    def score(matrix: np.ndarray) -> float:
        w = warp_image(mv, matrix, fx.shape)
        if metric == "mi":
            return -mutual_information(fx, w, bins)
        ok = np.isfinite(w)
        if ok.sum() < 16:
            return 0.0
        a, b = fx[ok] - fx[ok].mean(), w[ok] - w[ok].mean()
        return -float(a @ b / np.sqrt((a @ a) * (b @ b) + 1e-300))

    m0 = initial if initial is not None else similarity_matrix((0, 0, 0, 0), scale)
    base = np.asarray(m0, dtype=float)

    def sim(p: np.ndarray) -> np.ndarray:
        return base @ similarity_matrix((p[0], p[1], p[2], p[3]), 1.0)

    best = optimize.minimize(lambda p: score(sim(p)), np.zeros(4), method="Powell",
                             options={"xtol": 1e-3, "ftol": 1e-6, "maxfev": 4000})
    matrix = sim(best.x)
    success = bool(best.success)
    if model == "affine":
        def aff(p: np.ndarray) -> np.ndarray:
            d = np.eye(3)
            d[:2, :] += p.reshape(2, 3)
            return matrix @ d

        res = optimize.minimize(lambda p: score(aff(p)), np.zeros(6), method="Powell",
                                options={"xtol": 1e-4, "ftol": 1e-6, "maxfev": 6000})
        matrix, success = aff(res.x), bool(res.success)
    elif model != "similarity":
        raise ValidationError(f"unknown model {model!r}; use 'similarity' or 'affine'")
    return Result("imaging.register_intensity",
                  {"matrix": matrix, "metric": -score(matrix), "metric_name": metric, "success": success})
