"""Carry labels of the fine image (phases, particles, interface bands) onto the coarse pixels.

Each coarse pixel's footprint is sampled on a ``k × k`` sub-pixel grid, mapped into the fine image
by the transform and looked up in the label image: the fraction of sub-samples of label ``l`` is
the partial-volume weight ``w_pl``. The expected counts of pixel ``p`` in channel ``c`` are then
``E[C_pc] = Σ_l w_pl μ_lc`` (a linear mixing model), and the per-label means ``μ`` are its
least-squares solution over the pixels that lie wholly on the fine image. Their Poisson covariance
is propagated exactly through the linear estimator, ``Cov(μ_·c) = P diag(λ_·c) Pᵀ`` with
``P = (WᵀW)⁻¹Wᵀ`` and ``λ = Wμ`` (counts are their own variance); the registration uncertainty is
added by repeating the transfer with the transform shifted by draws from an isotropic Gaussian of
per-axis standard deviation TRE/√2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ionscope.correlate.grid import Grid
from ionscope.correlate.register import affine_transform, matrix_of
from ionscope.model.errors import ValidationError

#: Coarse pixels must lie this wholly on the fine image to be used.
FULL_COVERAGE = 0.999
#: Transfers repeated with perturbed transforms for the registration uncertainty.
REGISTRATION_DRAWS = 12


@dataclass
class Transfer:
    """Per-label means (labels × channels) with Poisson and registration standard deviations."""

    labels: list[int]
    mean: np.ndarray
    sigma_poisson: np.ndarray
    sigma_registration: np.ndarray
    weight: np.ndarray  # Σ_p w_pl over the used pixels (coarse pixels' worth of each label)
    n_pixels: int

    @property
    def sigma(self) -> np.ndarray:
        return np.sqrt(self.sigma_poisson ** 2 + self.sigma_registration ** 2)


def supersampling(moving: Grid, fixed: Grid) -> int:
    """Sub-samples per coarse pixel side: two per fine pixel, between 2 and 8."""
    ratio = max(moving.pixel_um[0] / fixed.pixel_um[0], moving.pixel_um[1] / fixed.pixel_um[1])
    return int(np.clip(np.ceil(2 * ratio), 2, 8))


def _mapped_subsamples(transform: Any, moving: Grid, k: int) -> np.ndarray:
    """Fine-image positions (x, y) µm of the k² sub-samples of every coarse pixel, (ny, k, nx, k, 2)."""
    import SimpleITK as sitk

    ny, nx = moving.shape
    sy, sx = moving.pixel_um[0] / k, moving.pixel_um[1] / k
    oy = moving.origin_um[0] - moving.pixel_um[0] / 2 + sy / 2
    ox = moving.origin_um[1] - moving.pixel_um[1] / 2 + sx / 2
    if isinstance(transform, sitk.CompositeTransform):
        field = sitk.TransformToDisplacementField(transform, sitk.sitkVectorFloat64, [nx * k, ny * k], [ox, oy],
                                                  [sx, sy], [1, 0, 0, 1])
        disp = sitk.GetArrayFromImage(field)
        gx, gy = np.meshgrid(ox + np.arange(nx * k) * sx, oy + np.arange(ny * k) * sy)
        pts = np.stack([gx + disp[..., 0], gy + disp[..., 1]], axis=-1)
    else:
        m = matrix_of(transform)
        gx, gy = np.meshgrid(ox + np.arange(nx * k) * sx, oy + np.arange(ny * k) * sy)
        pts = np.stack([m[0, 0] * gx + m[0, 1] * gy + m[0, 2], m[1, 0] * gx + m[1, 1] * gy + m[1, 2]], axis=-1)
    return pts.reshape(ny, k, nx, k, 2)


def partial_volume_weights(labels: np.ndarray, fixed: Grid, moving: Grid, transform: Any,
                           label_values: list[int], k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume weights (coarse pixels, labels) and coverage (coarse pixels) of a label image.

    Parameters
    ----------
    labels
        Integer label image on the fine grid (y, x).
    fixed, moving
        Grids of the fine and coarse images.
    transform
        SimpleITK transform, moving µm → fixed µm.
    label_values
        Labels to weigh (columns of the result, in this order).
    k
        Sub-samples per coarse pixel side (default :func:`supersampling`).
    """
    k = k or supersampling(moving, fixed)
    pts = _mapped_subsamples(transform, moving, k).reshape(-1, 2)
    inside = fixed.inside(pts)
    i, j = fixed.index_of(pts)
    i, j = np.clip(i, 0, fixed.shape[0] - 1), np.clip(j, 0, fixed.shape[1] - 1)
    lab = labels[i, j]
    ny, nx = moving.shape
    pix = np.broadcast_to((np.arange(ny)[:, None, None, None] * nx + np.arange(nx)[None, None, :, None]),
                          (ny, k, nx, k)).reshape(-1)
    lut = np.full(int(max(label_values)) + 2 if label_values else 1, -1, dtype=np.int64)
    lut[np.asarray(label_values, dtype=np.int64)] = np.arange(len(label_values))
    col = np.where(inside & (lab >= 0) & (lab < len(lut) - 1), lut[np.clip(lab, 0, len(lut) - 1)], -1)
    use = col >= 0
    w = np.bincount(pix[use] * len(label_values) + col[use], minlength=ny * nx * len(label_values))
    cover = np.bincount(pix[inside], minlength=ny * nx) / k ** 2
    return w.reshape(ny * nx, len(label_values)) / k ** 2, cover


def unmix(weights: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares per-label means (labels, channels) and their Poisson standard deviations."""
    gram = weights.T @ weights
    if np.linalg.matrix_rank(gram) < gram.shape[0]:
        raise ValidationError("some labels cover too few coarse pixels to be separated (their weights are "
                              "linearly dependent)")
    proj = np.linalg.solve(gram, weights.T)  # (labels, pixels)
    mean = proj @ counts
    lam = np.clip(weights @ mean, 0, None)
    var = (proj ** 2) @ lam
    return mean, np.sqrt(var)


def transfer_labels(labels: np.ndarray, fixed: Grid, channels: np.ndarray, moving: Grid, transform: Any,
                    *, tre_um: float | None = None, label_values: list[int] | None = None,
                    draws: int = REGISTRATION_DRAWS, seed: int = 0) -> Transfer:
    """Per-label mean counts per coarse pixel of every channel, with their uncertainty.

    Parameters
    ----------
    labels
        Label image on the fine grid (y, x).
    fixed, moving
        Grids of the fine and coarse images.
    channels
        Coarse data (y, x, channels) in counts.
    transform
        SimpleITK transform, moving µm → fixed µm.
    tre_um
        Target registration error (µm) for the registration part of the uncertainty (None: none).
    label_values
        Labels to report (default: every value present).
    draws, seed
        Perturbed transfers for the registration uncertainty, and their seed.
    """
    lab = np.asarray(labels)
    if lab.shape != fixed.shape:
        raise ValidationError(f"the label image has shape {lab.shape}, the fixed image {fixed.shape}")
    if lab.dtype.kind not in "iub":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise ValidationError("the label image must hold integer labels")
        lab = lab.astype(np.int64)
    values = sorted(int(v) for v in np.unique(lab)) if label_values is None else list(label_values)
    if len(values) > 1000:
        raise ValidationError(f"the label image holds {len(values)} labels; at most 1000 can be transferred")
    ny, nx = moving.shape
    flat = np.asarray(channels, float).reshape(ny * nx, -1)

    def solve(tx: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        w, cover = partial_volume_weights(lab, fixed, moving, tx, values)
        full = cover >= FULL_COVERAGE
        if full.sum() < len(values) + 1:
            raise ValidationError(f"only {int(full.sum())} coarse pixels lie wholly on the fixed image: too little "
                                  "overlap to transfer labels")
        mean, sig = unmix(w[full], flat[full])
        return mean, sig, w[full].sum(axis=0), full

    mean, sig, weight, full = solve(transform)
    sig_reg = np.zeros_like(mean)
    if tre_um and draws > 1:
        rng = np.random.default_rng(seed)
        base = matrix_of(transform)
        reps = []
        for _ in range(draws):
            m = base.copy()
            m[:2, 2] += rng.normal(0, tre_um / np.sqrt(2), 2)
            try:
                reps.append(solve(affine_transform(m, moving.centre_xy))[0])
            except ValidationError:
                continue
        if len(reps) > 1:
            sig_reg = np.std(np.stack(reps), axis=0, ddof=1)
    return Transfer(values, mean, sig, sig_reg, weight, int(full.sum()))


def resample_to_fixed(channels: np.ndarray, moving: Grid, fixed: Grid, transform: Any,
                      fill: float = np.nan) -> np.ndarray:
    """Coarse data (y, x, channels) resampled (bilinear) onto the fine grid; outside → ``fill``.

    The fine pixels are mapped back by the inverse transform (B-spline parts are inverted
    iteratively on a displacement field).
    """
    import SimpleITK as sitk
    from scipy import ndimage

    def grid_index(xy: np.ndarray) -> list[np.ndarray]:
        return [(xy[:, 1] - moving.origin_um[0]) / moving.pixel_um[0],
                (xy[:, 0] - moving.origin_um[1]) / moving.pixel_um[1]]

    pts = fixed.centres()
    m = np.linalg.inv(matrix_of(transform))
    back = pts @ m[:2, :2].T + m[:2, 2]
    if isinstance(transform, sitk.CompositeTransform):  # T = affine ∘ B-spline: T⁻¹ = B-spline⁻¹ ∘ affine⁻¹
        field = sitk.TransformToDisplacementField(transform.GetNthTransform(1), sitk.sitkVectorFloat64,
                                                  [moving.shape[1], moving.shape[0]],
                                                  [moving.origin_um[1], moving.origin_um[0]],
                                                  [moving.pixel_um[1], moving.pixel_um[0]], [1, 0, 0, 1])
        inv = sitk.GetArrayFromImage(sitk.InvertDisplacementField(field))
        idx = grid_index(back)
        back = back + np.column_stack([ndimage.map_coordinates(inv[..., c], idx, order=1, mode="nearest")
                                       for c in range(2)])
    ci = (back[:, 1] - moving.origin_um[0]) / moving.pixel_um[0]
    cj = (back[:, 0] - moving.origin_um[1]) / moving.pixel_um[1]
    data = np.asarray(channels, float)
    out = np.empty(fixed.shape + (data.shape[2],))
    for c in range(data.shape[2]):
        out[..., c] = ndimage.map_coordinates(data[..., c], [ci, cj], order=1, mode="constant",
                                              cval=fill).reshape(fixed.shape)
    return out
