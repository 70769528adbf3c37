"""Carry a FIB-SEM label volume onto the voxels of a SIMS cube: per-label means and totals per depth.

Each SIMS voxel is sampled on ``k_xy × k_xy × k_z`` sub-points, mapped into the FIB-SEM volume by the
4×4 transform and looked up in the label volume; the fraction of sub-points of label ``l`` is the
partial-volume weight ``w_vl``. Per scan (depth) the expected counts follow the linear mixing model
``E[C_vc] = Σ_l w_vl μ_lc(z)`` and the per-label means are its least-squares solution over the voxels
of that scan lying wholly in the volume, with the Poisson covariance propagated exactly through the
linear estimator (:func:`ionscope.correlate.transfer.unmix`). The depth-integrated means solve the
same model over all used voxels (label means taken constant with depth). The registration part of
the uncertainty is the spread of the results over transforms drawn from the registration's
parameter covariance (rotation, scales, depth scale, shifts), which also gives the uncertainty of
each scan's depth in the FIB-SEM frame — dominated by the depth scale's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ionscope.correlate.transfer import FULL_COVERAGE, unmix
from ionscope.correlate.volume import Grid3, map_xyz
from ionscope.model.errors import ValidationError

#: Transfers repeated with transforms drawn from the parameter covariance.
REGISTRATION_DRAWS = 8


@dataclass
class Transfer3:
    """Per-label results of a 3-D transfer; arrays are (labels, scans, channels) or (labels, channels)."""

    labels: list[int]
    depth_um: np.ndarray  # (scans,) depth of each scan's centre in the fixed frame
    depth_sigma_um: np.ndarray
    mean_z: np.ndarray
    sigma_poisson_z: np.ndarray
    sigma_registration_z: np.ndarray
    weight_z: np.ndarray  # (labels, scans) voxels' worth of each label per scan
    mean: np.ndarray
    sigma_poisson: np.ndarray
    sigma_registration: np.ndarray
    n_voxels: int

    @property
    def sigma_z(self) -> np.ndarray:
        return np.sqrt(self.sigma_poisson_z ** 2 + self.sigma_registration_z ** 2)

    @property
    def sigma(self) -> np.ndarray:
        return np.sqrt(self.sigma_poisson ** 2 + self.sigma_registration ** 2)

    @property
    def total(self) -> np.ndarray:
        """Counts attributed to each label (labels, channels), summed over the scans with a result."""
        return np.nansum(self.mean_z * self.weight_z[..., None], axis=1)

    @property
    def total_sigma(self) -> np.ndarray:
        return np.sqrt(np.nansum((self.sigma_z * self.weight_z[..., None]) ** 2, axis=1))


def _subsampling(moving: Grid3, fixed: Grid3, depth_scale: float) -> tuple[int, int]:
    """Sub-points per SIMS voxel side: about one per FIB-SEM voxel (the label volume holds no finer
    detail), in x/y between 2 and 8, in z between 1 and 4."""
    kxy = int(np.clip(np.ceil(max(moving.voxel_um[1] / fixed.voxel_um[1], moving.voxel_um[2] / fixed.voxel_um[2])),
                      2, 8))
    kz = int(np.clip(np.ceil(moving.voxel_um[0] * abs(depth_scale) / fixed.voxel_um[0]), 1, 4))
    return kxy, kz


def _scan_weights(labels: np.ndarray, fixed: Grid3, moving: Grid3, matrix: np.ndarray, scan: int,
                 lut: np.ndarray, n_labels: int, k: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume weights (pixels, labels) and coverage (pixels) of one scan of the cube."""
    kxy, kz = k
    nz, ny, nx = moving.shape
    dz, dy, dx = moving.voxel_um
    sx = moving.origin_um[2] - dx / 2 + (np.arange(nx * kxy) + 0.5) * dx / kxy
    sy = moving.origin_um[1] - dy / 2 + (np.arange(ny * kxy) + 0.5) * dy / kxy
    sz = moving.origin_um[0] + scan * dz - dz / 2 + (np.arange(kz) + 0.5) * dz / kz
    gz, gy, gx = np.meshgrid(sz, sy, sx, indexing="ij")
    pts = map_xyz(matrix, np.column_stack([gx.ravel(), gy.ravel(), gz.ravel()]))
    inside = fixed.inside(pts)
    idx = [np.clip(np.rint((pts[:, a] - fixed.origin_um[2 - a]) / fixed.voxel_um[2 - a]).astype(np.int64), 0,
                   fixed.shape[2 - a] - 1) for a in range(3)]
    lab = labels[idx[2], idx[1], idx[0]]
    pix = np.broadcast_to(np.arange(ny)[None, :, None, None, None] * nx + np.arange(nx)[None, None, None, :, None],
                          (kz, ny, kxy, nx, kxy)).reshape(-1)
    col = np.where(inside & (lab >= 0) & (lab < len(lut)), lut[np.clip(lab, 0, len(lut) - 1)], -1)
    use = col >= 0
    w = np.bincount(pix[use] * n_labels + col[use], minlength=ny * nx * n_labels).reshape(ny * nx, n_labels)
    n_sub = kxy * kxy * kz
    return w / n_sub, np.bincount(pix[inside], minlength=ny * nx) / n_sub


def _solve(w: np.ndarray, counts: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares means of the labels present (≥ half a voxel's worth); NaN for the others."""
    mean = np.full((n_labels, counts.shape[1]), np.nan)
    sig = np.full_like(mean, np.nan)
    present = np.flatnonzero(w.sum(axis=0) >= 0.5)
    if len(w) <= len(present) or len(present) == 0:
        return mean, sig
    try:
        m, s = unmix(w[:, present], counts)
    except ValidationError:
        return mean, sig
    mean[present], sig[present] = m, s
    return mean, sig


def _transfer_once(labels: np.ndarray, fixed: Grid3, flat: np.ndarray, moving: Grid3, matrix: np.ndarray,
                   values: list[int], k: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    nz = moving.shape[0]
    lut = np.full(int(max(values)) + 1, -1, dtype=np.int64)
    lut[np.asarray(values, dtype=np.int64)] = np.arange(len(values))
    n_l = len(values)
    mean_z = np.full((n_l, nz, flat.shape[2]), np.nan)
    sig_z = np.full_like(mean_z, np.nan)
    weight_z = np.zeros((n_l, nz))
    all_w, all_c = [], []
    for iz in range(nz):
        w, cover = _scan_weights(labels, fixed, moving, matrix, iz, lut, n_l, k)
        full = cover >= FULL_COVERAGE
        if not full.any():
            continue
        mean_z[:, iz], sig_z[:, iz] = _solve(w[full], flat[iz][full], n_l)
        weight_z[:, iz] = np.where(np.isfinite(mean_z[:, iz, 0]), w[full].sum(axis=0), 0.0)
        all_w.append(w[full])
        all_c.append(flat[iz][full])
    n_used = int(sum(len(a) for a in all_w))
    if not all_w or n_used < n_l + 1:
        raise ValidationError("no SIMS voxel lies wholly in the FIB-SEM volume under the transform: too little "
                              "overlap to transfer labels")
    mean, sig = _solve(np.concatenate(all_w), np.concatenate(all_c), n_l)
    return mean_z, sig_z, weight_z, mean, sig, n_used


def transfer_volume(labels: np.ndarray, fixed: Grid3, cube: np.ndarray, moving: Grid3, matrix: np.ndarray, *,
                    draws: list[np.ndarray] | None = None, label_values: list[int] | None = None,
                    on_step: Callable[[], None] | None = None) -> Transfer3:
    """Per-label, per-scan mean counts per voxel of every channel of a SIMS cube, with uncertainty.

    Parameters
    ----------
    labels
        Integer label volume on the FIB-SEM grid (z, y, x).
    fixed, moving
        Grids of the volume and of the cube (µm).
    cube
        Counts (scan, y, x, channels).
    matrix
        4×4 transform, cube (x, y, z) µm → volume µm.
    draws
        Transforms drawn from the registration's covariance (registration uncertainty; none: 0).
    label_values
        Labels to report (default: every value present).
    on_step
        Called after each transfer (progress).
    """
    lab = np.asarray(labels)
    if lab.shape != tuple(fixed.shape):
        raise ValidationError(f"the label volume has shape {lab.shape}, the fixed volume {tuple(fixed.shape)}")
    if lab.dtype.kind not in "iub":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise ValidationError("the label volume must hold integer labels")
        lab = lab.astype(np.int64)
    values = sorted(int(v) for v in np.unique(lab) if v >= 0) if label_values is None else list(label_values)
    if not values or len(values) > 1000:
        raise ValidationError(f"the label volume holds {len(values)} labels; between 1 and 1000 can be transferred")
    nz, ny, nx = moving.shape
    flat = np.asarray(cube, float).reshape(nz, ny * nx, -1)
    k = _subsampling(moving, fixed, matrix[2, 2])
    mean_z, sig_z, weight_z, mean, sig, n_vox = _transfer_once(lab, fixed, flat, moving, matrix, values, k)
    if on_step:
        on_step()
    centre_col = np.column_stack([np.full(nz, moving.centre_xyz[0]), np.full(nz, moving.centre_xyz[1]),
                                  moving.origin_um[0] + np.arange(nz) * moving.voxel_um[0]])
    depth = map_xyz(matrix, centre_col)[:, 2]
    reps_z, reps, depths = [], [], []
    for m in draws or []:
        try:
            r = _transfer_once(lab, fixed, flat, moving, m, values, k)
        except ValidationError:
            continue
        reps_z.append(r[0])
        reps.append(r[3])
        depths.append(map_xyz(m, centre_col)[:, 2])
        if on_step:
            on_step()
    if len(reps) > 1:
        reg_z = np.nanstd(np.stack(reps_z), axis=0, ddof=1)
        reg = np.nanstd(np.stack(reps), axis=0, ddof=1)
        dsig = np.std(np.stack(depths), axis=0, ddof=1)
    else:
        reg_z, reg, dsig = np.zeros_like(mean_z), np.zeros_like(mean), np.zeros(nz)
    return Transfer3(values, depth, dsig, mean_z, sig_z, reg_z, weight_z, mean, sig, reg, n_vox)
