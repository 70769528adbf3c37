"""Rigid, similarity and affine registration of two images of the same contrast (intensity based).

Matrix convention (as the external-image transforms of :mod:`ionscope.imaging.registration`): a
3×3 matrix ``M`` in (row, col) pixel coordinates maps a point of the *reference* image to the
*moving* image, ``[r_m, c_m, 1] = M @ [r_r, c_r, 1]``; ``warp_image(moving, M, reference.shape)``
resamples the moving image onto the reference grid (registers it). A pure translation
``M = [[1, 0, dy], [0, 1, dx], [0, 0, 1]]`` means the moving image shows the reference content
displaced by ``(dy, dx)`` px; the shift of :func:`~ionscope.imaging.registration.estimate_shifts`
that registers it is ``−(dy, dx)``. Rotation angles are ``θ = atan2(M[1,0] − M[0,1], M[0,0] +
M[1,1])`` (the rotation closest to the linear part): positive θ turns the +row axis towards +col,
i.e. counter-clockwise as an image is displayed (row 0 at the top).

The estimate is made in three steps:

1. rotation (and scale) from the phase correlation of log-polar resampled, high-pass filtered
   Fourier magnitudes, which do not depend on translation (Reddy & Chatterji, *IEEE Trans. Image
   Process.* 5, 1266 (1996)); only used if it makes the translation peak higher than no rotation;
2. translation of the de-rotated image with the project's translation estimator
   :func:`~ionscope.imaging.registration.estimate_shifts` (steps 1–2 on a copy reduced to
   ≤ ~256 px, which the pyramid of step 3 starts from);
3. Gauss–Newton refinement of all parameters, inverse-compositional Lucas–Kanade (Baker &
   Matthews, *Int. J. Comput. Vis.* 56, 221 (2004), sec. 3.2) on a Gaussian pyramid, with a gain and
   offset between the images solved alongside (linear appearance variation, ibid. Part 3) and
   pixels that leave the moving image excluded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ionscope.imaging.registration import (
    estimate_shifts,
    prepare_frames,
    similarity_matrix,
    tukey_window,
    warp_image,
)
from ionscope.model.errors import ValidationError
from ionscope.model.result import Result

MODELS = ("translation", "rigid", "similarity", "affine")
#: Parameters of each model in the Gauss–Newton step (centred coordinates; angle in rad).
PARAMETERS = {"translation": ("dy", "dx"), "rigid": ("dy", "dx", "angle"),
              "similarity": ("dy", "dx", "angle", "log_scale"),
              "affine": ("dy", "dx", "a_rr", "a_rc", "a_cr", "a_cc")}


def translation_matrix(dy: float, dx: float) -> np.ndarray:
    """3×3 matrix of a translation by (dy, dx) px in (row, col) coordinates."""
    m = np.eye(3)
    m[:2, 2] = dy, dx
    return m


def about_centre(linear: Any, centre: Any) -> np.ndarray:
    """3×3 matrix applying the 2×2 ``linear`` part about ``centre`` (row, col) px."""
    m = np.eye(3)
    m[:2, :2] = np.asarray(linear, float)
    cy, cx = centre
    return translation_matrix(cy, cx) @ m @ translation_matrix(-cy, -cx)


def rotation_matrix(angle_rad: float, scale: float = 1.0) -> np.ndarray:
    """2×2 rotation (``scale``·R(θ)) in (row, col) coordinates; θ > 0 turns +row towards +col."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return scale * np.array([[c, -s], [s, c]])


def rotation_angle_deg(matrix: Any) -> float:
    """Angle (degrees) of the rotation closest to the linear part of ``matrix`` (Frobenius norm)."""
    m = np.asarray(matrix, float)
    return float(np.degrees(np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1])))


def centre_displacement(matrix: Any, shape: tuple[int, int]) -> np.ndarray:
    """Displacement (dy, dx) px of the image centre ``((ny−1)/2, (nx−1)/2)`` under ``matrix``."""
    c = np.array([(shape[0] - 1) / 2, (shape[1] - 1) / 2, 1.0])
    return (np.asarray(matrix, float) @ c)[:2] - c[:2]


def _logpolar_spectrum(img: np.ndarray, n_angles: int, n_radii: int, smooth_px: float) -> np.ndarray:
    """High-pass filtered Fourier magnitude on a (angle ∈ [0, π), log radius) grid."""
    ny, nx = img.shape
    f = prepare_frames(img[None], smooth_px=smooth_px, edges=False, window=tukey_window((ny, nx), 0.5))[0]
    mag = np.abs(np.fft.fftshift(np.fft.fft2(f)))
    fy = np.fft.fftshift(np.fft.fftfreq(ny))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(nx))[None, :]
    # Reddy & Chatterji's emphasis filter: suppresses the low frequencies that all images share
    cc = np.cos(np.pi * fy) * np.cos(np.pi * fx)
    mag = mag * (1 - cc) * (2 - cc)
    # physical frequencies (cycles/px) so that non-square images rotate correctly
    rho = np.exp(np.linspace(np.log(2.0 / min(ny, nx)), np.log(0.45), n_radii))
    phi = np.arange(n_angles) * (np.pi / n_angles)
    iy = ny // 2 + rho[None, :] * np.cos(phi)[:, None] * ny
    ix = nx // 2 + rho[None, :] * np.sin(phi)[:, None] * nx
    return ndimage.map_coordinates(mag, [iy, ix], order=1, mode="constant", cval=0.0)


def rotation_scale(reference: Any, moving: Any, *, n_angles: int = 360, n_radii: int = 128,
                   smooth_px: float = 1.0, upsample: int = 20) -> Result:
    """Rotation (rad, in (−π/2, π/2]) and scale of ``moving`` relative to ``reference``.

    Reddy & Chatterji (1996): translation leaves the Fourier magnitude unchanged, a rotation
    turns it by the same angle and a scale ``s`` shrinks it by ``1/s``; on a (θ, log ρ) grid both
    become shifts, found by :func:`~ionscope.imaging.registration.estimate_shifts`. Resolution
    ``180° / n_angles / upsample``; a rotation and the same plus 180° are indistinguishable.

    Returns
    -------
    Result
        ``kind="imaging.rotation_scale"``: ``angle`` (rad) and ``scale`` (moving size ÷ reference size).
    """
    ref, mov = _pair(reference, moving)
    lr = _logpolar_spectrum(ref, n_angles, n_radii, smooth_px)
    lm = _logpolar_spectrum(mov, n_angles, n_radii, smooth_px)
    s = estimate_shifts(lm[None], lr, upsample=upsample, smooth_px=0.0, edges=False, window_alpha=0.0)[0]
    dlog = (np.log(0.45) - np.log(2.0 / min(ref.shape))) / (n_radii - 1)
    angle = -s[0] * np.pi / n_angles
    angle = (angle + np.pi / 2) % np.pi - np.pi / 2
    return Result("imaging.rotation_scale", {"angle": float(angle), "scale": float(np.exp(s[1] * dlog))})


def _pair(reference: Any, moving: Any) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    mov = np.asarray(moving, dtype=np.float64)
    if ref.ndim != 2 or ref.shape != mov.shape:
        raise ValidationError(f"need two 2-D images of the same shape, got {ref.shape} and {mov.shape}")
    if min(ref.shape) < 16:
        raise ValidationError(f"images of {ref.shape[0]}×{ref.shape[1]} pixels are too small to register")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(mov))):
        raise ValidationError("images to register contain NaN or infinite pixels")
    return ref, mov


def _parameter_matrix(model: str, p: np.ndarray) -> np.ndarray:
    """3×3 warp in centred coordinates for Gauss–Newton parameters ``p`` (identity at p = 0)."""
    if model in ("rigid", "similarity"):
        return similarity_matrix((p[0], p[1], p[2], p[3] if model == "similarity" else 0.0))
    m = translation_matrix(p[0], p[1])
    if model == "affine":
        m[:2, :2] += p[2:6].reshape(2, 2)
    return m


def _steepest_descent(model: str, gr: np.ndarray, gc: np.ndarray, r: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """∇T · ∂W/∂p at p = 0 for each parameter (Baker & Matthews 2004, eq. 36)."""
    cols = [gr, gc]
    if model in ("rigid", "similarity"):
        cols.append(-c * gr + r * gc)
    if model == "similarity":
        cols.append(r * gr + c * gc)
    if model == "affine":
        cols += [r * gr, c * gr, r * gc, c * gc]
    return cols


def _pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """Levels 0..levels−1 (float32, anti-aliased by a σ = 1 px Gaussian before each halving);
    level l samples pixel (2^l r, 2^l c) of the full image."""
    out = [np.asarray(img, np.float32)]
    for _ in range(1, levels):
        out.append(ndimage.gaussian_filter(out[-1], 1.0)[::2, ::2])
    return out


def _default_levels(shape: tuple[int, ...]) -> int:
    levels = 1
    while min(shape) / 2**levels >= 64 and levels < 5:
        levels += 1
    return levels


def refine(reference: Any, moving: Any, matrix: Any, model: str = "rigid", *, levels: int | None = None,
           smooth_px: float = 1.0, max_iter: int = 50, tol_px: float = 1e-2, border_px: int = 2) -> Result:
    """Gauss–Newton (inverse-compositional Lucas–Kanade) refinement of ``matrix`` (reference → moving).

    Parameters
    ----------
    reference, moving
        2-D images of the same shape and contrast (a gain and an offset between them are fitted).
    matrix
        Initial 3×3 matrix; a ``rigid`` refinement of a non-rigid start keeps its linear part's
        deviation from a rotation.
    model
        ``"translation"``, ``"rigid"`` (dy, dx, θ), ``"similarity"`` (+ scale) or ``"affine"``.
    levels
        Pyramid levels (factor 2 each); default: halve until the smaller side is below 64 px (≤ 5).
    smooth_px
        Gaussian σ (px of each level) applied to both images before the gradients are taken.
    max_iter, tol_px
        Iterations per level; stop when the update moves no image corner by more than ``tol_px``.
    border_px
        Reference pixels this close to the edge are not used (one-sided gradients there).

    Returns
    -------
    Result
        ``kind="imaging.refine"`` with ``matrix``; ``stderr`` of the model parameters (px, rad,
        log-scale or affine elements, about the image centre) from the Gauss–Newton covariance ``s² H⁻¹``,
        with the residual variance ``s²`` scaled by ``4π σ²`` because smoothing by a Gaussian of σ px
        correlates neighbouring residuals (the residual includes any real change of the scene between
        the images, treated as noise); ``covariance`` (the same, k×k in the order of :data:`PARAMETERS`);
        ``residual`` (rms of the final residual over the reference's rms, 0 = perfect);
        ``iterations``; ``converged``.
    """
    ref, mov = _pair(reference, moving)
    if model not in MODELS:
        raise ValidationError(f"unknown transform model {model!r}; use one of {MODELS}")
    m = np.asarray(matrix, float).copy()
    if m.shape != (3, 3):
        raise ValidationError(f"initial matrix must be 3×3, got {m.shape}")
    levels = _default_levels(ref.shape) if levels is None else levels
    if levels < 1:
        raise ValidationError(f"pyramid levels must be ≥ 1, got {levels}")
    found = _refine(_pyramid(ref, levels), _pyramid(mov, levels), m, model, smooth_px, max_iter, tol_px, border_px)
    return Result("imaging.refine", found)


def _refine(t_pyr: list[np.ndarray], i_pyr: list[np.ndarray], m: np.ndarray, model: str, smooth_px: float,
            max_iter: int, tol_px: float, border_px: int) -> dict[str, Any]:
    levels = len(t_pyr)
    k = len(PARAMETERS[model])
    total, converged, cov, resid = 0, False, np.full((k, k), np.nan), np.nan
    for lev in range(levels - 1, -1, -1):
        tmpl, img = (ndimage.gaussian_filter(p[lev], smooth_px) if smooth_px > 0 else p[lev] for p in (t_pyr, i_pyr))
        tmpl, img = tmpl.astype(np.float64), img.astype(np.float64)
        down = np.diag([2.0**lev, 2.0**lev, 1.0])
        m_lev = np.linalg.inv(down) @ m @ down
        ny, nx = tmpl.shape
        b = min(border_px, max(ny, nx) // 8)
        inner = (slice(b, ny - b), slice(b, nx - b))
        gr, gc = (g[inner] for g in np.gradient(tmpl))
        cy, cx = (ny - 1) / 2, (nx - 1) / 2
        rr, cc = np.meshgrid(np.arange(ny, dtype=float)[inner[0]] - cy, np.arange(nx, dtype=float)[inner[1]] - cx,
                             indexing="ij")
        t_in = tmpl[inner]
        cols = _steepest_descent(model, gr, gc, rr, cc) + [t_in, np.ones_like(t_in)]
        jac = np.stack([c_.ravel() for c_ in cols], axis=1)
        hess_all = jac.T @ jac
        centre = translation_matrix(cy, cx)
        corners = np.array([[-cy, -cx, 1], [-cy, cx, 1], [cy, -cx, 1], [cy, cx, 1]]).T
        converged = False
        for _ in range(max_iter):
            warped = warp_image(img, m_lev, tmpl.shape, fill=np.nan)[inner].ravel()
            bad = ~np.isfinite(warped)
            err = np.where(bad, 0.0, warped - t_in.ravel())
            hess = hess_all - jac[bad].T @ jac[bad] if bad.any() else hess_all
            if hess.shape[0] > (~bad).sum():
                raise ValidationError("the images hardly overlap under the current transform: cannot register")
            try:
                step = np.linalg.solve(hess, jac.T @ err)
            except np.linalg.LinAlgError as exc:
                raise ValidationError("registration is degenerate: the reference has no usable texture") from exc
            dw = _parameter_matrix(model, step[:k])
            m_lev = m_lev @ (centre @ np.linalg.inv(dw) @ np.linalg.inv(centre))
            total += 1
            moved = np.abs(dw @ corners - corners)[:2].max()
            if moved < tol_px:
                converged = True
                break
        if lev == 0:
            n_ok = int((~bad).sum())
            r_fit = err - np.where(bad, 0.0, jac @ step)
            s2 = float(r_fit @ r_fit) / max(n_ok - jac.shape[1], 1) * max(1.0, 4 * np.pi * smooth_px**2)
            cov = np.linalg.inv(hess)[:k, :k] * s2
            resid = float(np.sqrt(r_fit @ r_fit / n_ok) / (t_in.std() + 1e-300))
        m = down @ m_lev @ np.linalg.inv(down)
    stderr = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {"matrix": m, "stderr": dict(zip(PARAMETERS[model], stderr.tolist(), strict=True)), "covariance": cov,
            "residual": resid, "iterations": total, "converged": converged}


def estimate_transform(reference: Any, moving: Any, model: str = "rigid", *, upsample: int = 20,
                       smooth_px: float = 1.0, levels: int | None = None, max_iter: int = 50,
                       tol_px: float = 1e-2, coarse_rotation: bool = True) -> Result:
    """Transform (3×3, reference → moving, see module docstring) registering ``moving`` with ``reference``.

    Parameters
    ----------
    reference, moving
        2-D images of the same shape and contrast.
    model
        ``"translation"`` (:func:`~ionscope.imaging.registration.estimate_shifts` only, no
        refinement), ``"rigid"``, ``"similarity"`` or ``"affine"``.
    upsample, smooth_px
        Precision ``1/upsample`` px of the phase-correlation steps; Gaussian σ (px) of all steps.
    levels, max_iter, tol_px
        Passed to :func:`refine`.
    coarse_rotation
        Start from the log-polar rotation (and scale, except for rigid) estimate; without it the
        refinement starts from the translation alone (enough for rotations of a few degrees).

    Returns
    -------
    Result
        ``kind="imaging.transform"`` with ``matrix``; ``angle_deg`` (:func:`rotation_angle_deg`);
        ``shift_px`` (displacement of the image centre, :func:`centre_displacement`); ``stderr``,
        ``covariance``, ``residual``, ``iterations``, ``converged`` from :func:`refine` (translation: no
        ``stderr``/``covariance``, ``residual`` NaN).
    """
    ref, mov = _pair(reference, moving)
    if model not in MODELS:
        raise ValidationError(f"unknown transform model {model!r}; use one of {MODELS}")
    # the start (rotation, scale, whole-pixel-level translation) is found on a copy of ≤ ~256 px
    # (factor f = 2^j): angles and scales do not change on a coarser grid, and the pyramid
    # refinement below takes the translation to full precision
    if levels is not None and levels < 1:
        raise ValidationError(f"pyramid levels must be ≥ 1, got {levels}")
    lev = 1 if model == "translation" else max(int(np.ceil(np.log2(min(ref.shape) / 256))), 0) + 1
    n_lev = max(lev, _default_levels(ref.shape) if levels is None else levels)
    t_pyr, i_pyr = (_pyramid(im, n_lev) if model != "translation" else [im] for im in (ref, mov))
    sref, smov = t_pyr[lev - 1], i_pyr[lev - 1]
    centre = ((sref.shape[0] - 1) / 2, (sref.shape[1] - 1) / 2)
    candidates = [np.eye(3)]
    if model != "translation" and coarse_rotation:
        rs = rotation_scale(sref, smov, smooth_px=smooth_px, upsample=upsample)
        candidates.append(about_centre(rotation_matrix(rs.angle, 1.0 if model == "rigid" else rs.scale), centre))
    # the rotated candidate sees the moving image on the reference grid; edge pixels brought in
    # from outside get its mean (the Tukey taper of estimate_shifts hides the corners)
    frames = [smov] + [warp_image(smov, c, sref.shape, fill=float(smov.mean())) for c in candidates[1:]]
    found = estimate_shifts(np.stack(frames), sref, upsample=upsample, smooth_px=smooth_px, return_error=True)
    shifts = found.shifts
    best = int(np.argmax(found.peak_heights))
    f = np.diag([2.0 ** (lev - 1), 2.0 ** (lev - 1), 1.0])
    matrix = f @ candidates[best] @ translation_matrix(-shifts[best, 0], -shifts[best, 1]) @ np.linalg.inv(f)
    info: dict[str, Any] = {"stderr": {}, "covariance": np.zeros((0, 0)), "residual": np.nan, "iterations": 0,
                            "converged": True}
    if model != "translation":
        n_ref = _default_levels(ref.shape) if levels is None else levels
        info = _refine(t_pyr[:n_ref], i_pyr[:n_ref], matrix, model, smooth_px, max_iter, tol_px, border_px=2)
        matrix = info["matrix"]
    return Result("imaging.transform", {**info, "matrix": matrix, "angle_deg": rotation_angle_deg(matrix),
                                        "shift_px": centre_displacement(matrix, ref.shape)})
