"""Partial-volume clean-up of a segmented label volume.

Where two phases of very different grey level meet, the point-spread function (PSF) of the
microscope mixes them: a voxel straddling a pore/NMC interface gets an intermediate grey level
(the partial-volume effect; Ketcham & Carlson 2001, Comput. Geosci. 27, 381–400,
doi:10.1016/S0098-3004(00)00116-3) and a pixel classifier labels it as the phase of intermediate
grey level (carbon-binder in an NMC electrode). Such voxels form specks of a few voxels that the
microscope cannot resolve. Removing connected components smaller than the resolution volume is the
area opening (size filter) of mathematical morphology (Soille 2003, Morphological Image Analysis,
2nd ed., Springer, doi:10.1007/978-3-662-05088-0), used on FIB-SEM segmentations by Prill et al. 2013
(J. Microsc. 250, 77–87, doi:10.1111/jmi.12021).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ionscope.model.errors import ValidationError
from ionscope.model.result import Result

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def psf_resolution_voxels(psf_sigma_px: Sequence[float]) -> float:
    """Volume (voxels) of the PSF's resolution cell: the ellipsoid with the FWHM as diameters.

    Parameters
    ----------
    psf_sigma_px : sequence of float
        Gaussian PSF standard deviation per axis (voxels). An axis without blur (σ = 0, e.g. the
        milling direction of a FIB-SEM stack, sampled by slices) counts as one voxel wide.

    Returns
    -------
    float
        ``c · Π max(FWHM_i, 1)`` with FWHM = 2√(2 ln 2) σ (voxels) and c = π/6, π/4 or 1 for three,
        two or at most one blurred axis.
    """
    if any(float(s) < 0 for s in psf_sigma_px):
        raise ValidationError(f"PSF widths must be ≥ 0 voxels, got {list(psf_sigma_px)}")
    widths = [max(FWHM_PER_SIGMA * float(s), 1.0) for s in psf_sigma_px]
    n_blurred = sum(float(s) > 0 for s in psf_sigma_px)
    # ellipse π/4·ab, ellipsoid π/6·abc over the blurred axes; unblurred axes are one-voxel slabs
    shape_factor = {0: 1.0, 1: 1.0, 2: np.pi / 4}.get(n_blurred, np.pi / 6)
    return float(shape_factor * np.prod(widths))


def remove_partial_volume_specks(labels: np.ndarray, phase: int, psf_sigma_px: Sequence[float], *,
                                 connectivity: int = 1) -> Result:
    """Relabel components of ``phase`` smaller than the PSF's resolution cell to the surrounding phase.

    A connected component of ``phase`` with fewer voxels than :func:`psf_resolution_voxels` cannot
    be a resolved object: it is a partial-volume voxel (or a noise speck) on the interface of two
    other phases. Each of its voxels takes the label most frequent among the other phases in its
    3×…×3 neighbourhood (the phase that fills most of the mixed voxel's surroundings), or, with none
    there, that of the nearest voxel not of ``phase`` (Euclidean distance transform). This is a
    size (area) opening (Soille 2003, Morphological Image Analysis, Springer,
    doi:10.1007/978-3-662-05088-0; Prill et al. 2013, J. Microsc. 250, 77–87, doi:10.1111/jmi.12021).
    Resolved thin films of ``phase`` (components larger than the cell) are kept, unlike a
    morphological opening, which would also erase true films one or two voxels thick.

    Parameters
    ----------
    labels : ndarray of int, shape (z, y, x) or (y, x)
        Segmented label volume.
    phase : int
        Label value of the intermediate-grey phase to clean (e.g. carbon-binder).
    psf_sigma_px : sequence of float
        Gaussian PSF standard deviation per axis (voxels), one per dimension of ``labels``.
    connectivity : int
        Neighbourhood of a component: 1 = faces (6 in 3-D), ``labels.ndim`` = full (26 in 3-D).

    Returns
    -------
    Result
        ``tomo.specks``: ``labels``, a copy of ``labels`` with the specks relabelled, and ``removed``,
        the number of voxels relabelled.
    """
    labels = np.asarray(labels)
    if len(psf_sigma_px) != labels.ndim:
        raise ValidationError(f"give one PSF width per axis: {len(psf_sigma_px)} widths for a "
                              f"{labels.ndim}-D volume")
    if not 1 <= connectivity <= labels.ndim:
        raise ValidationError(f"connectivity must be 1…{labels.ndim}, got {connectivity}")
    mask = labels == phase
    if not mask.any() or mask.all():
        return Result("tomo.specks", {"labels": labels.copy(), "removed": 0})
    cell = psf_resolution_voxels(psf_sigma_px)
    comp, _ = ndimage.label(mask, structure=ndimage.generate_binary_structure(labels.ndim, connectivity))
    size = np.bincount(comp.ravel())
    size[0] = np.iinfo(size.dtype).max
    small = size[comp] < cell
    out = labels.copy()
    _, nearest = ndimage.distance_transform_edt(mask, return_indices=True)
    out[small] = labels[tuple(ix[small] for ix in nearest)]
    # ties (a speck exactly on an interface is equidistant from both sides): the majority among the
    # other phases in the 3×…×3 neighbourhood, i.e. the phase filling most of the mixed voxel's surroundings
    others = np.unique(labels[~mask])
    counts = np.stack([ndimage.uniform_filter((labels == v).astype(np.float32), 3, mode="nearest")[small]
                       for v in others])
    seen = counts.max(axis=0) > 0
    idx = np.flatnonzero(small)[seen]
    out.flat[idx] = others[counts[:, seen].argmax(axis=0)]
    return Result("tomo.specks", {"labels": out, "removed": int(small.sum())})
