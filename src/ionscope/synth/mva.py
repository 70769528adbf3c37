"""Virtual TOF-SIMS images of mixtures: known component spectra × known abundance maps + Poisson noise.

The expected counts of pixel ``i`` and peak ``j`` are ``λ_ij = Σ_k A_ik S_kj`` with abundance maps
``A`` (counts per pixel contributed by component ``k``) and spectra ``S`` (fractions, rows sum to
1). Each component has its own characteristic peaks plus shared fragments, and each dominates some
region of the image (smooth blobs), which makes the factorisation identifiable (pure pixels and
selective peaks), as in real phase-separated electrode cross-sections.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ionscope.model.arrays import make_ion_image
from ionscope.synth.core import GroundTruth, SeedLike, make_rng, poisson_counts


def component_spectra(n_components: int, n_peaks: int, rng: np.random.Generator,
                      unique_per_component: int = 3) -> np.ndarray:
    """Spectra (k × p, rows sum to 1): each component has ``unique_per_component`` strong own peaks
    and weak shared fragments (log-normal intensities)."""
    s = rng.lognormal(mean=-1.0, sigma=1.0, size=(n_components, n_peaks)) * 0.05
    peaks = rng.permutation(n_peaks)
    for k in range(n_components):
        own = peaks[k * unique_per_component:(k + 1) * unique_per_component]
        s[k, own] += rng.uniform(1.0, 3.0, size=own.size)
    return s / s.sum(axis=1, keepdims=True)


def abundance_maps(n_components: int, shape: tuple[int, int], rng: np.random.Generator,
                   blobs_per_component: int = 3, radius_px: float = 6.0) -> np.ndarray:
    """Fractions (y, x, k) summing to 1 per pixel: Gaussian blobs per component over a small background."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    w = np.full((*shape, n_components), 0.02)
    for k in range(n_components):
        for _ in range(blobs_per_component):
            cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
            w[..., k] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius_px**2)) ** 0.5 * 4
    w = w**3
    return w / w.sum(axis=-1, keepdims=True)


def mixture_image(n_components: int = 3, *, shape: tuple[int, int] = (48, 48), n_peaks: int = 30,
                  counts_per_pixel: float = 500.0, pixel_size_um: float = 0.5,
                  seed: SeedLike = 0) -> tuple[xr.DataArray, GroundTruth]:
    """Simulated ion images (y, x, peak) of a mixture of ``n_components`` phases with Poisson counts.

    Parameters
    ----------
    counts_per_pixel
        Mean total counts per pixel (all peaks); 100–1000 is typical of a TOF-SIMS image with
        ~1 s per 256² frame summed over tens of frames.

    Returns
    -------
    (image, truth)
        ``truth.truth`` holds ``spectra`` (k × p, unit sum), ``fractions`` (y, x, k) and
        ``expected`` (y, x, p) mean counts.
    """
    rng = make_rng(seed)
    spectra = component_spectra(n_components, n_peaks, rng)
    fractions = abundance_maps(n_components, shape, rng)
    total = counts_per_pixel * rng.uniform(0.8, 1.2, size=shape)  # topography / emission variations
    expected = (fractions * total[..., None]) @ spectra
    counts = poisson_counts(expected, rng).astype(np.uint32)
    mz = np.sort(rng.choice(np.arange(1, max(200, 2 * n_peaks)), size=n_peaks, replace=False)).astype(float)
    labels = [f"m{int(m)}" for m in mz]
    image = make_ion_image(counts, labels, pixel_size_um=pixel_size_um, mz=mz)
    truth = GroundTruth("ionscope.synth.mva.mixture_image",
                        {"n_components": n_components, "shape_px": list(shape), "n_peaks": n_peaks,
                         "counts_per_pixel": counts_per_pixel, "pixel_size_um": pixel_size_um,
                         "seed": seed if isinstance(seed, int) else None},
                        {"spectra": spectra, "fractions": fractions, "expected": expected})
    return image, truth
