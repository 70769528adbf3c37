"""2-D → 3-D statistical reconstruction of multiphase microstructures, and the statistics compared.

Default method (``grf``): thresholded Gaussian random fields, pluri-Gaussian for more than two
phases (Quiblier 1984, doi:10.1016/0021-9797(84)90321-3; Adler, Jacquin & Quiblier 1990,
doi:10.1016/0301-9322(90)90007-7; Armstrong et al. 2019, doi:10.1007/s11242-018-1175-4 for the
pluri-Gaussian construction); a first phase of separate particles may instead be a Boolean model of
spheres (:mod:`ionscope.micro.generate_boolean`). Phase ``a`` is where a Gaussian field Z₁ < t₁; among the rest, phase
``b`` is where an independent field Z₂ < t₂; and so on. For a field thresholded at
``t = Φ⁻¹(p)`` the indicator two-point function is ``S₂(r) = Φ₂(t, t; ρ(r))`` (bivariate normal
probability), so the field correlation ``ρ(r)`` follows from the measured ``S₂(r)`` by inverting
``Φ₂``: ``Φ₂(t, t; ρ) = p² + ∫₀^ρ exp(−t²/(1+s)) / (2π√(1−s²)) ds``. The second field is fitted
to the conditional two-point function ``S₂ᵇ(r) / S₂^{not a}(r)``. The phase order is chosen to
minimise the squared error of every phase's predicted ``S₂`` (the last phase is not fitted). The 3-D
field with the isotropic correlation ``ρ(|r|)`` is made by FFT filtering of white noise (spectral
density = FFT of ρ, negative parts clipped). Thresholds are set at the generated field's quantiles,
so the volume fractions equal the image's exactly.

Statistics: two-point function along each axis, the lineal mean chord length per phase (Torquato
2002, *Random Heterogeneous Materials*, doi:10.1007/978-1-4757-6355-3, Ch. 2), and specific surface
area — in 3-D by marching cubes, from a 2-D section by stereology ``S_V = (4/π)·L_A`` with ``L_A``
the boundary length per unit area (Underwood 1970, *Quantitative Stereology*; Cahn 1967).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from ionscope.model.errors import ValidationError

METHODS = ("grf", "anneal", "slicegan")
#: Smallest two-point-function range (px) the fit needs: ``MIN_RANGE_FACTOR`` × the correlation length.
#: An exponentially decaying correlation has fallen to e⁻⁴ ≈ 2 % of its start after four correlation
#: lengths, so the range then covers S₂'s approach to p² and the fitted ρ can decay inside it.
MIN_RANGE_FACTOR = 4.0


# --------------------------------------------------------------------------- statistics


@functools.lru_cache(maxsize=16)
def _ring_geometry(ny: int, nx: int, r_max: int) -> tuple[np.ndarray, ...]:
    """What :func:`radial_two_point` needs of an ``ny × nx`` image besides its pixels: the rows of the
    padded autocorrelation that hold offsets within ``r_max``, the flat indices of those offsets in
    them, each offset's integer radius and pair count, and the number of offsets per ring."""
    shape = (2 * ny, 2 * nx)
    ones = np.fft.rfft2(np.ones((ny, nx)), shape)
    norm = np.fft.irfft2(ones * ones.conj(), shape)
    dy = np.fft.fftfreq(shape[0]) * shape[0]
    dx = np.fft.fftfreq(shape[1]) * shape[1]
    r = np.rint(np.hypot(dy[:, None], dx[None, :])).astype(int)
    ok = (r <= r_max) & (norm > 0.25 * ny * nx)
    rows = np.flatnonzero(ok.any(axis=1))
    sub = ok[rows]
    radius = r[rows][sub]
    pairs = np.maximum(norm, 1.0)[rows][sub]
    count = np.maximum(np.bincount(radius, minlength=r_max + 1)[: r_max + 1], 1)
    out = (rows, np.flatnonzero(sub), radius, pairs, count)
    for a in out:
        a.flags.writeable = False
    return out


def radial_two_point(mask: np.ndarray, r_max: int) -> np.ndarray:
    """Isotropic two-point probability S₂(r), r = 0…r_max px, of a 2-D (or stack of 2-D) boolean image.

    Non-periodic: the FFT autocorrelation of the zero-padded image divided by the number of pixel
    pairs at each offset; averaged over offsets in rings of integer radius and over slices. (The 2-D
    transforms are done one axis at a time, as ``rfft2``/``irfft2`` do, and the inverse only along
    the rows that hold offsets within ``r_max``; the image-independent parts are cached per shape.)
    """
    m = np.asarray(mask, bool)
    if m.ndim == 2:
        m = m[None]
    _, ny, nx = m.shape
    shape = (2 * ny, 2 * nx)
    rows, flat, radius, pairs, count = _ring_geometry(ny, nx, int(r_max))
    acc = np.zeros((rows.size, shape[1]))
    for sl in m:
        f = np.fft.fft(np.fft.rfft(sl.astype(float), shape[1], axis=1), shape[0], axis=0)
        acc += np.fft.irfft(np.fft.ifft(f * f.conj(), shape[0], axis=0)[rows], shape[1], axis=1)
    corr = acc.ravel()[flat] / len(m) / pairs
    s = np.bincount(radius, corr, minlength=r_max + 1)[: r_max + 1]
    return s / count


def axis_two_point(mask: np.ndarray, axis: int, r_max: int) -> np.ndarray:
    """S₂(r) along one axis (non-periodic), r = 0…r_max px."""
    m = np.asarray(mask, bool)
    n = m.shape[axis]
    out = np.empty(min(r_max, n - 1) + 1)
    for r in range(out.size):
        a = np.take(m, range(0, n - r), axis=axis)
        b = np.take(m, range(r, n), axis=axis)
        out[r] = np.count_nonzero(a & b) / a.size
    return out


def mean_chord_length(mask: np.ndarray, axis: int) -> float:
    """Mean length (px) of the runs of ``mask`` along ``axis`` that do not touch the borders; NaN if none."""
    m = np.moveaxis(np.asarray(mask, bool), axis, -1).reshape(-1, np.shape(mask)[axis]).astype(np.int8)
    d = np.diff(np.pad(m, ((0, 0), (1, 1))), axis=1)
    rows_s, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    lengths = ends - starts
    inner = (starts > 0) & (ends < m.shape[1])
    return float(lengths[inner].mean()) if inner.any() else float("nan")


def correlation_length(s2: np.ndarray, p: float) -> float:
    """∫ (S₂(r) − p²)/(p − p²) dr (px) up to the first zero crossing: the phase's correlation length."""
    c = (s2 - p * p) / max(p - p * p, 1e-12)
    neg = np.flatnonzero(c <= 0)
    end = int(neg[0]) if neg.size else c.size
    return float(np.trapezoid(c[:end])) if end > 1 else 0.5


# --------------------------------------------------------------------------- Gaussian-field inversion


def _phi2_table(t: float, n: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    """Φ₂(t, t; ρ) on a grid of ρ ∈ (−1, 1) by integrating its ρ-derivative from ρ = 0."""
    rho = np.linspace(-0.9999, 0.9999, n)
    dens = np.exp(-t * t / (1 + rho)) / (2 * np.pi * np.sqrt(1 - rho * rho))
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(rho))])
    p = stats.norm.cdf(t)
    return rho, p * p + cum - np.interp(0.0, rho, cum)


def invert_two_point(s2: np.ndarray, p: float) -> np.ndarray:
    """Field correlation ρ(r) whose thresholded indicator (fraction ``p``) has two-point function ``s2``."""
    t = float(stats.norm.ppf(np.clip(p, 1e-9, 1 - 1e-9)))
    rho, g = _phi2_table(t)
    return np.interp(np.clip(s2, g[0], g[-1]), g, rho)


def predicted_two_point(rho: np.ndarray, p: float) -> np.ndarray:
    """S₂(r) of a field with correlation ρ(r) thresholded to fraction ``p`` (forward of :func:`invert_two_point`)."""
    t = float(stats.norm.ppf(np.clip(p, 1e-9, 1 - 1e-9)))
    grid, g = _phi2_table(t)
    return np.interp(rho, grid, g)


def valid_correlation(rho: np.ndarray, n_scales: int = 32, weights: np.ndarray | None = None) -> np.ndarray:
    """The closest (least squares) scale mixture of Gaussians ``Σ w_k exp(−(r/a_k)²)``, ``w_k ≥ 0``, ``Σ w_k = 1``.

    An inverted ρ(r) is in general not positive definite (its spectral density has negative parts,
    and clipping them adds a white-noise floor that roughens every interface). A non-negative
    mixture of Gaussian covariances is positive definite in any dimension (Schoenberg 1938,
    doi:10.2307/1968466), so the fitted ρ is a valid correlation. Scales are log-spaced from 0.5 px
    to a quarter of the measured range, the longest correlation the range can resolve (the image-size
    check asks for ``MIN_RANGE_FACTOR`` correlation lengths), so that ρ has decayed within the range.
    ``weights`` (one per lag) weight the squared residuals, e.g. by how strongly S₂ depends on ρ there.
    """
    from scipy.optimize import nnls

    r = np.arange(rho.size, dtype=float)
    scales = np.geomspace(0.5, max(rho.size / MIN_RANGE_FACTOR, 1.0), n_scales)
    basis = np.exp(-(r[:, None] / scales[None, :]) ** 2)
    big = 100.0 * math.sqrt(rho.size)  # the sum-to-one row, weighted to hold almost exactly
    wr = np.ones(rho.size) if weights is None else np.asarray(weights, float)
    a = np.vstack([basis * wr[:, None], big * np.ones(n_scales)])
    b = np.concatenate([rho * wr, [big]])
    w, _ = nnls(a, b)
    keep = w > 0
    return np.stack([scales[keep], w[keep] / w.sum()])


def mixture_correlation(mix: np.ndarray, r: Any) -> Any:
    """ρ(r) of a Gaussian scale mixture (``mix`` = [scales; weights] from :func:`valid_correlation`)."""
    r = np.asarray(r, float)
    out = np.zeros(r.shape)
    for a, w in mix.T:
        out += w * np.exp(-(r / a) ** 2)
    return out


def gaussian_field(mix: np.ndarray, shape: Sequence[int], rng: np.random.Generator,
                   scale: Sequence[float] | None = None) -> np.ndarray:
    """Periodic unit-variance Gaussian field with the mixture correlation ρ(|r|) (r in px, stretched by
    ``scale``), evaluated exactly on the lag grid so that its spectral density stays non-negative."""
    scale = (1.0,) * len(shape) if scale is None else scale
    grids = np.meshgrid(*[np.fft.fftfreq(n) * n / s for n, s in zip(shape, scale, strict=True)], indexing="ij",
                        sparse=True)
    r = np.sqrt(sum(g * g for g in grids))
    cov = mixture_correlation(mix, r)
    psd = np.clip(np.fft.rfftn(cov).real, 0.0, None)
    noise = np.fft.rfftn(rng.standard_normal(shape))
    field = np.fft.irfftn(noise * np.sqrt(psd), s=tuple(shape), axes=tuple(range(len(shape))))
    return ((field - field.mean()) / (field.std() + 1e-12)).astype(np.float32)


#: How the first phase of the truncation rule is cut from its field(s): one level cut (``single``), the
#: union of k independent level cuts with the same correlation (``union-k``: at a small fraction per
#: cut, grains placed independently — a phase that stays in separate particles, like a Boolean model),
#: or their intersection (``intersection-k``: the complement of a union) — Roberts 1997,
#: doi:10.1103/PhysRevE.56.3203, for unions and intersections of level-cut Gaussian fields — or a
#: Boolean model of spheres (``spheres``, :mod:`ionscope.micro.generate_boolean`).
FIRST_MODES = ("single", "union-2", "union-4", "union-8", "union-16", "intersection-2", "spheres")


def _parse_mode(mode: str) -> tuple[str, int]:
    if mode in ("single", "spheres"):
        return mode, 1
    kind, _, k = mode.partition("-")
    if kind not in ("union", "intersection") or not k.isdigit() or int(k) < 2:
        raise ValueError(f"unknown first-phase mode {mode!r}")
    return kind, int(k)


def _sensitivity(rho: np.ndarray, q: float, k: int) -> np.ndarray:
    """|d S₂ / d ρ| of the k-fold intersection of cuts at fraction ``q`` (normalised to a mean of 1): at
    the high thresholds of a many-fold union, S₂ near the origin (and with it the surface area,
    ``S₂′(0) = −s/4``, Torquato 2002 eq. 2.37) hangs on ρ close to 1, where a plain least-squares fit of
    ρ is loose; weighting the residuals by this derivative fits S₂ instead of ρ."""
    t = float(stats.norm.ppf(np.clip(q, 1e-9, 1 - 1e-9)))
    r = np.clip(rho, -0.999, 0.999)
    dens = np.exp(-t * t / (1 + r)) / (2 * np.pi * np.sqrt(1 - r * r))
    w = k * predicted_two_point(r, q) ** (k - 1) * dens
    w[0] = w[1] if w.size > 1 else w[0]
    return w / max(float(w.mean()), 1e-300)


def _first_phase_fit(s2: np.ndarray, p: float, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Correlation mixture of the first phase's field(s) and the S₂ it predicts, for ``mode``.

    k independent fields with correlation ρ, each cut at ``t`` with ``Φ(t) = p^{1/k}``, give for their
    intersection ``S₂ = Φ₂(t, t; ρ)^k``, so ρ follows from inverting ``S₂^{1/k}`` at fraction
    ``p^{1/k}``. A union is the complement of the intersection of the complements: ``S₂ᶜ = 1 − 2p + S₂``
    is inverted the same way at fraction ``(1 − p)^{1/k}``.
    """
    r = np.arange(s2.size)
    kind, k = _parse_mode(mode)
    if kind == "spheres":
        from ionscope.micro.generate_boolean import fit_sphere_radii
        from ionscope.micro.generate_boolean import predicted_two_point as boolean_two_point

        mix = fit_sphere_radii(s2, p)
        return mix, boolean_two_point(mix, p, r)
    if kind == "single":
        mix = valid_correlation(invert_two_point(s2, p))
        return mix, predicted_two_point(mixture_correlation(mix, r), p)
    c = p if kind == "intersection" else 1.0 - p
    sc = np.clip(s2 if kind == "intersection" else 1.0 - 2.0 * p + s2, 0.0, 1.0)
    target = invert_two_point(sc ** (1.0 / k), c ** (1.0 / k))
    mix = valid_correlation(target, weights=_sensitivity(target, c ** (1.0 / k), k))
    pred = predicted_two_point(mixture_correlation(mix, r), c ** (1.0 / k)) ** k
    return mix, pred if kind == "intersection" else pred - 1.0 + 2.0 * p


def first_score(fields: Sequence[np.ndarray], mode: str) -> np.ndarray:
    """The first phase's ranking field from its k fields: the field itself (``single``), or the
    Gaussianised maximum (intersection) or minimum (union) of k independent unit Gaussian fields —
    ``Φ⁻¹(Φ(max)^k)`` and ``Φ⁻¹(1 − (1 − Φ(min))^k)`` are standard normal, so couplings to later
    fields keep their meaning. The first phase is where the score is lowest."""
    from scipy import special

    kind, k = _parse_mode(mode)
    if kind == "single":
        return fields[0]
    if kind == "intersection":
        u = special.ndtr(np.max(fields, axis=0).astype(np.float64)) ** k
    else:
        u = 1.0 - (1.0 - special.ndtr(np.min(fields, axis=0).astype(np.float64))) ** k
    return special.ndtri(np.clip(u, 1e-12, 1 - 1e-12)).astype(np.float32)


def _fit_order(s2: Mapping[int, np.ndarray], frac: Mapping[int, float],
               order: Sequence[int], mode: str = "single") -> tuple[list[np.ndarray], list[float], float]:
    """Correlations of the n−1 fields for one phase order, their conditional fractions and the error.

    The error sums over all phases the mean squared difference between the predicted and measured
    S₂, relative to p²: the last phase is not fitted, and a fitted phase is reproduced only where
    its conditional two-point function is attainable by a thresholded field.
    """
    rhos, qs = [], []
    n = next(iter(s2.values())).size
    r = np.arange(n)
    rest = np.ones(n)  # S₂ of "none of the phases so far"
    p_rest = 1.0
    err = 0.0
    for k, v in enumerate(order[:-1]):
        q = frac[v] / p_rest
        cond = np.clip(s2[v] / np.maximum(rest, 1e-12), 0.0, 1.0)
        if k == 0:
            mix, pred = _first_phase_fit(cond, q, mode)
        else:
            mix = valid_correlation(invert_two_point(cond, q))
            pred = predicted_two_point(mixture_correlation(mix, r), q)
        rhos.append(mix)
        qs.append(q)
        err += float(np.mean((rest * pred - s2[v]) ** 2)) / max(frac[v] ** 2, 1e-12)
        rest = rest * (1 - 2 * q + pred)  # P(both not v | both in rest)
        p_rest -= frac[v]
    err += float(np.mean((rest - s2[order[-1]]) ** 2)) / max(frac[order[-1]] ** 2, 1e-12)
    return rhos, qs, err


#: Couplings tried between the first field and each later one (correlation coefficient ``a``).
COUPLINGS = (-0.6, -0.3, 0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


def _threshold_fields(fields: Sequence[np.ndarray], order: Sequence[int], fractions: Mapping[int, float],
                      couplings: Sequence[float]) -> np.ndarray:
    """Truncation rule: phase ``order[0]`` where Z₁ is lowest; phase ``order[k]`` where
    ``a_k·Z₁ + √(1−a_k²)·W_k`` is lowest among the voxels not yet assigned; the last phase fills the rest.
    Thresholds are the quantiles of the free voxels, so every fraction is exact."""
    shape = fields[0].shape
    out = np.full(shape, order[-1], np.uint8)
    free = np.ones(shape, bool)
    z1 = fields[0]
    for k, v in enumerate(order[:-1]):
        a = couplings[k - 1] if k > 0 else 1.0
        z = z1 if k == 0 else a * z1 + math.sqrt(max(1 - a * a, 0.0)) * fields[k]
        n_target = int(round(fractions[v] * z.size))
        if n_target > 0:
            vals = z[free]
            th = np.partition(vals, min(n_target, vals.size) - 1)[min(n_target, vals.size) - 1]
            take = free & (z <= th)
            out[take] = v
            free &= ~take
    return out


def euler_density(mask: np.ndarray) -> float:
    """Euler–Poincaré characteristic per pixel of a 2-D phase: (clusters − holes) / area, 4-connected phase.

    A Minkowski functional that two-point functions do not fix and that tells compact grains in a
    matrix (many clusters, χ > 0) from a connected network (many holes, χ < 0); additive, so its
    sampling noise is that of a count (Arns, Knackstedt, Pinczewski & Mecke 2001,
    doi:10.1103/PhysRevE.63.031112, who show S₂-matched models differing in χ and in transport)."""
    from skimage.measure import euler_number

    m = np.asarray(mask, bool)
    return float(euler_number(m, connectivity=1)) / m.size


def _euler_misfit(sim: float, target: float, area: float) -> float:
    """Squared relative difference of Euler densities, relative to at least ten counts over ``area``."""
    return ((sim - target) / max(abs(target), 10.0 / area)) ** 2


def _section_error(sim: np.ndarray, s2: Mapping[int, np.ndarray], frac: Mapping[int, float],
                   boundary: Mapping[int, float], known: Callable[[int], Any] | None = None) -> float:
    """Misfit of a simulated 2-D section: per phase, the squared log ratio of boundary length per area
    (the surface area, by stereology) and the mean squared S₂ difference relative to p².

    ``known(v)``, if given, returns a memo (a dict) keyed by what phase ``v``'s region of ``sim`` depends
    on, or None: a phase whose region another call already had gets that call's two terms."""
    r_max = next(iter(s2.values())).size - 1
    err = 0.0
    for v, target in s2.items():
        memo = known(v) if known is not None else None
        if memo is not None and "terms" in memo:
            la_term, s2_term = memo["terms"]
        else:
            la_term, s2_term = _phase_terms(sim == v, target, frac[v], boundary[v], r_max)
            if memo is not None:
                memo["terms"] = (la_term, s2_term)
        err += la_term
        err += s2_term
    return err


def _phase_terms(m: np.ndarray, target: np.ndarray, p: float, boundary: float, r_max: int) -> tuple[float, float]:
    """The two terms of :func:`_section_error` for one phase's region ``m``."""
    from ionscope.micro.surface import marching_cubes_area

    la = marching_cubes_area(m, (1.0, 1.0)) / m.size
    return (math.log(max(la, 1e-12) / max(boundary, 1e-12)) ** 2,
            float(np.mean((radial_two_point(m, r_max) - target) ** 2)) / max(p ** 2, 1e-12))


class _Section:
    """One input plane for the fit: its label slices, the model's stretch along its rows and columns,
    and its measured radial S₂ and boundary length per area (px⁻¹)."""

    def __init__(self, labels: np.ndarray, values: Sequence[int], r_max: int,
                 scale: tuple[float, float] = (1.0, 1.0)) -> None:
        from ionscope.micro.surface import marching_cubes_area

        lab = np.asarray(labels)
        self.labels = lab[None] if lab.ndim == 2 else lab
        self.scale = scale
        self.s2 = {v: radial_two_point(self.labels == v, r_max) for v in values}
        self.boundary = {v: float(np.mean([marching_cubes_area(sl == v, (1.0, 1.0)) for sl in self.labels]))
                         / self.labels[0].size for v in values}
        self.euler = {v: float(np.mean([euler_density(sl == v) for sl in self.labels])) for v in values}
        # the simulated section is at least 256² (so that its own sampling noise is below that of a small
        # image) and at most 384² (cost); it is periodic, so it may be larger than the image
        self.shape = tuple(int(np.clip(n, 256, 384)) for n in self.labels.shape[1:])


def _model_fields(mixes: Sequence[np.ndarray], shape: Sequence[int], rng: np.random.Generator,
                  scale: Sequence[float] | None, mode: str) -> list[np.ndarray]:
    """The truncation rule's ranking fields: the first phase's score (:func:`first_score`), then the others."""
    if not mixes:
        return [np.zeros(tuple(shape), np.float32)]
    if mode == "spheres":
        from ionscope.micro.generate_boolean import particle_score, sphere_particles

        first = particle_score(sphere_particles(mixes[0], shape, rng, scale))
        return [first] + [gaussian_field(m, shape, rng, scale) for m in mixes[1:]]
    fields = [gaussian_field(m, shape, rng, scale) for m in mixes]
    k = _parse_mode(mode)[1]
    if k > 1:
        fields[0] = first_score([fields[0]] + [gaussian_field(mixes[0], shape, rng, scale) for _ in range(k - 1)],
                                mode)
    return fields


def _calibrate_boundary(sections: Sequence[_Section], mix: np.ndarray, v: int, p: float, mode: str,
                        seed: int) -> np.ndarray:
    """Rescale the first phase's correlation lengths so that its simulated sections have the image's
    boundary length per area.

    The lattice S₂ at lags ≥ 1 px does not pin the slope at the origin for a union of many cuts at high
    thresholds (S₂ there is curved on the scale of a pixel), so the fitted union can have a boundary
    (and surface area, ``S_V = (4/π)·L_A``) several per cent off. Boundary length per area scales as
    1/length: one simulated section per input plane gives the factor (ratio of simulated to measured
    ``L_A``, geometric mean over planes). For the sphere model the radii are scaled and the
    intensities divided by the cube of the factor, which keeps the fraction.
    """
    from ionscope.micro.surface import marching_cubes_area

    ratios = []
    for sec in sections:
        f = _model_fields([mix], sec.shape, np.random.default_rng(seed), sec.scale, mode)[0]
        m = f <= np.quantile(f, p)
        la = marching_cubes_area(m, (1.0, 1.0)) / m.size
        ratios.append(math.log(max(la, 1e-12) / max(sec.boundary[v], 1e-12)))
    out = mix.copy()
    factor = math.exp(float(np.mean(ratios)))
    out[0] = out[0] * factor
    if mode == "spheres":  # radii × c, intensities / c³: the same fraction, boundary per area / c
        out[1] = out[1] / factor**3
    return out


def _single_cut_rejected(sections: Sequence[_Section], mixes: Sequence[np.ndarray], v: int, p: float,
                         seed: int) -> bool:
    """Whether one level cut's first phase has the wrong connectivity: the Euler density of its
    simulated sections differs from the image's by more than two standard deviations of count noise
    (clusters and holes counted as Poisson, variance |χ|/area for each side). Only then are unions and
    intersections of cuts tried — a model with more freedom is not chosen on noise."""
    if not mixes:
        return False
    z2 = []
    for sec in sections:
        f = _model_fields(mixes[:1], sec.shape, np.random.default_rng(seed), sec.scale, "single")[0]
        m = f <= np.quantile(f, p)
        sim, target = euler_density(m), sec.euler[v]
        var = abs(sim) / m.size + abs(target) / sec.labels.size
        z2.append((sim - target) ** 2 / max(var, 1e-300))
    return float(np.mean(z2)) > 4.0


def _choose_couplings(sections: Sequence[_Section], mixes: Sequence[np.ndarray], order: Sequence[int],
                      frac: Mapping[int, float], couplings: Sequence[float], seed: int,
                      mode: str = "single") -> tuple[list[float], float]:
    """Couplings of the later fields, one at a time, minimising the summed :func:`_section_error`."""
    fields = [_model_fields(mixes, sec.shape, np.random.default_rng(seed), sec.scale, mode) for sec in sections]
    # the region of phase order[j] depends on the couplings before it, cpl[:j], only (the truncation rule):
    # the phases a candidate coupling leaves unchanged are not measured again
    memos: dict[tuple, dict] = {}

    def error(cpl: list[float]) -> float:
        def known(i: int) -> Callable[[int], dict]:
            return lambda v: memos.setdefault((i, v, tuple(cpl[:list(order).index(v)])), {})

        return sum(_section_error(_threshold_fields(f, order, frac, cpl), sec.s2, frac, sec.boundary, known(i))
                   for i, (sec, f) in enumerate(zip(sections, fields, strict=True)))

    chosen: list[float] = []
    err = error([0.0] * max(len(mixes) - 1, 0))
    for k in range(1, len(mixes)):
        err, a_best = min((error([*chosen, a] + [0.0] * (len(mixes) - 1 - k)), a) for a in couplings)
        chosen.append(a_best)
    # connectivity of the first phase (its field(s) alone decide it, whatever the couplings)
    for sec, f in zip(sections, fields, strict=True):
        m = f[0] <= np.quantile(f[0], frac[order[0]])
        err += _euler_misfit(euler_density(m), sec.euler[order[0]], m.size)
    return chosen, err


def _candidate_error(sections: Sequence[_Section], cand: Mapping[str, Any], frac: Mapping[int, float],
                     seed: int) -> float:
    """The section error of a fitted candidate (its couplings fixed) with the noise of ``seed``: the
    summed :func:`_section_error` plus the first phase's Euler misfit, as in :func:`_choose_couplings`."""
    order, mode = cand["order"], cand["first_mode"]
    err = 0.0
    for sec in sections:
        f = _model_fields(cand["rhos"], sec.shape, np.random.default_rng(seed), sec.scale, mode)
        err += _section_error(_threshold_fields(f, order, frac, cand["couplings"]), sec.s2, frac, sec.boundary)
        m = f[0] <= np.quantile(f[0], frac[order[0]])
        err += _euler_misfit(euler_density(m), sec.euler[order[0]], m.size)
    return err


#: Noise seeds on which the sphere model's section error is compared with the best other model's.
PREFERENCE_SEEDS = 4


def _spheres_preferred(sections: Sequence[_Section], spheres: Mapping[str, Any], other: Mapping[str, Any] | None,
                       frac: Mapping[int, float], seed: int) -> bool:
    """Whether the sphere model replaces the best other model: its section error is larger by no more
    than two standard errors of the difference, measured over :data:`PREFERENCE_SEEDS` noise seeds
    (the errors of models built from different random structures differ by sampling noise even at equal
    quality; common random numbers cannot pair them). Between models the sections cannot tell apart,
    the one whose exact S₂ fits the phase better (:func:`_particle_modes`) is kept."""
    if other is None:
        return True
    d = np.array([_candidate_error(sections, spheres, frac, seed + k)
                  - _candidate_error(sections, other, frac, seed + k) for k in range(PREFERENCE_SEEDS)])
    return float(d.mean()) <= 2.0 * float(d.std(ddof=1)) / math.sqrt(d.size)


def _particle_modes(s2: np.ndarray, p: float, modes: Sequence[str]) -> list[str]:
    """The first-phase models to try when one level cut is rejected: every union and intersection of
    cuts, and the Boolean sphere model if its S₂ (exact, :mod:`ionscope.micro.generate_boolean`) fits the
    phase's measured S₂ at least as well as every one of them. The comparison is analytic (no simulated
    sections, so no sampling noise): a phase of finite particles has an S₂ that reaches p² at about a
    diameter and dips below it, which spheres reproduce and level cuts of Gaussian fields, whose
    correlation cannot vanish at a finite lag, do not."""
    others = [m for m in modes if m != "single"]
    if "spheres" not in others or len(others) == 1:
        return others
    misfit = {m: float(np.mean((_first_phase_fit(s2, p, m)[1] - s2) ** 2)) for m in others}
    rest = [m for m in others if m != "spheres"]
    return others if misfit["spheres"] <= min(misfit[m] for m in rest) else rest


def fit_pluri_gaussian(labels2d: np.ndarray | Sequence[_Section], values: Sequence[int], r_max: int, *,
                       couplings: Sequence[float] = COUPLINGS, seed: int = 12345,
                       two_point: Mapping[int, np.ndarray] | None = None,
                       modes: Sequence[str] = FIRST_MODES) -> dict[str, Any]:
    """Fit the pluri-Gaussian model to 2-D label slices: phase order, field correlations, couplings.

    Each field's correlation comes from inverting its (conditional) two-point function
    (:func:`_fit_order`). Independent fields place the later phases' interfaces at random with
    respect to the first phase, so a phase that in the material coats another (carbon-binder on
    active particles) borders the wrong neighbours and its surface area is wrong even though every
    S₂ is matched. The later fields are therefore correlated with the first one,
    ``Z_k = a_k·Z₁ + √(1−a_k²)·W_k`` (a pluri-Gaussian model with correlated Gaussian fields,
    Armstrong et al. 2011, *Plurigaussian Simulations in Geosciences*, doi:10.1007/978-3-642-19607-2,
    Ch. 3), so that ``a_k > 0`` puts phase k next to the first phase. Order and couplings are chosen by
    simulating 2-D sections of the model (a plane section of an isotropic field with correlation ρ(|r|)
    is a 2-D field with the same ρ, so no 3-D volume is needed) and minimising, over all phases, the
    squared log ratio of the boundary length per area to the image's — the specific surface area by
    stereology, ``S_V = (4/π)·L_A`` — plus the relative S₂ misfit. Common random numbers (one noise
    seed) for every candidate keep the comparison between candidates free of sampling noise. The
    later couplings are chosen one field at a time.

    ``labels2d`` may instead be a list of sections with their stretch factors (anisotropic input,
    :func:`generate_anisotropic`); ``two_point`` is then the isotropic S₂ of the stretched model.

    ``modes`` (:data:`FIRST_MODES`): how the first phase is cut — one level cut, a union /
    intersection of k cuts (Roberts 1997, doi:10.1103/PhysRevE.56.3203), which changes the phase's
    connectivity at equal S₂, or a Boolean model of spheres (:mod:`ionscope.micro.generate_boolean`).
    For each order the single cut is fitted first; the other modes are tried only if its first
    phase's Euler density on simulated sections is rejected against the image's at 2σ of count noise
    (:func:`_single_cut_rejected`); then spheres alone if their exact S₂ fits the phase's at least as
    well as every union or intersection (:func:`_particle_modes`), else those, which compete with the
    Euler misfit added to the section error (Arns et al. 2001, doi:10.1103/PhysRevE.63.031112).
    """
    sections = list(labels2d) if isinstance(labels2d, list | tuple) and labels2d and isinstance(
        labels2d[0], _Section) else [_Section(np.asarray(labels2d), values, r_max)]
    s2 = dict(two_point) if two_point is not None else sections[0].s2
    n_px = [sec.labels.size for sec in sections]
    frac = {v: float(np.average([np.mean(sec.labels == v) for sec in sections], weights=n_px)) for v in values}
    best: dict[str, Any] | None = None
    spheres: dict[str, Any] | None = None
    for order in itertools.permutations(values):
        rejected = True
        if "single" in modes:
            single = _fit_order(s2, frac, order, "single")[0]
            rejected = _single_cut_rejected(sections, single, order[0], frac[order[0]], seed)
        tried = (["single"] if "single" in modes else []) + (
            _particle_modes(s2[order[0]], frac[order[0]], modes) if rejected else [])
        for mode in tried:
            mixes, qs, s2_err = _fit_order(s2, frac, order, mode)
            if mode != "single":
                mixes[0] = _calibrate_boundary(sections, mixes[0], order[0], frac[order[0]], mode, seed)
            chosen, err = _choose_couplings(sections, mixes, order, frac, couplings, seed, mode)
            cand = {"order": list(order), "rhos": mixes, "fractions": qs, "couplings": chosen, "error": err,
                    "two_point_error_independent": s2_err, "first_mode": mode}
            if mode == "spheres":
                if spheres is None or err < spheres["error"]:
                    spheres = cand
            elif best is None or err < best["error"]:
                best = cand
    if spheres is not None and _spheres_preferred(sections, spheres, best, frac, seed):
        best = spheres
    assert best is not None
    best.update({"two_point": s2, "volume_fraction": frac,
                 "boundary_per_area_px": [sec.boundary for sec in sections]})
    return best


def grf_volume(fit: Mapping[str, Any], shape: Sequence[int], seed: int = 0,
               scale: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """A label volume from a pluri-Gaussian fit; fractions set exactly by the fields' quantiles."""
    fields = _model_fields(fit["rhos"], shape, np.random.default_rng(seed), scale, fit.get("first_mode", "single"))
    return _threshold_fields(fields, fit["order"], fit["volume_fraction"], fit.get("couplings", []))


# --------------------------------------------------------------------------- comparison


def section_statistics(labels: np.ndarray, values: Mapping[str, int], spacing_um: float, *,
                       axes: Sequence[int] = (1, 2), r_max: int = 32) -> dict[str, Any]:
    """Fractions, S₂ along ``axes``, mean chord lengths (µm) and specific surface area (µm⁻¹) per phase.

    For a stack of 2-D sections (axes y, x) the surface area is the stereological ``(4/π)·L_A``;
    for a volume (axes z, y, x) it is the marching-cubes area per volume.
    """
    from ionscope.micro.surface import marching_cubes_area

    lab = np.asarray(labels)
    out: dict[str, Any] = {}
    for name, v in values.items():
        m = lab == v
        entry: dict[str, Any] = {"volume_fraction": float(m.mean())}
        entry["two_point"] = {"zyx"[a]: axis_two_point(m, a, r_max).tolist() for a in axes}
        entry["mean_chord_length_um"] = {"zyx"[a]: mean_chord_length(m, a) * spacing_um for a in axes}
        if len(axes) == 3:
            entry["specific_surface_area_per_um"] = marching_cubes_area(m, (spacing_um,) * 3) / (m.size * spacing_um**3)
        else:
            la = np.mean([marching_cubes_area(sl, (spacing_um,) * 2) for sl in m]) / (m[0].size * spacing_um**2)
            entry["specific_surface_area_per_um"] = 4 / math.pi * la
        out[name] = entry
    return out


def compare_statistics(ref: Mapping[str, Any], gen: Mapping[str, Any]) -> dict[str, Any]:
    """Generated − reference: fraction difference, relative surface-area and chord-length differences,
    and the largest absolute difference of S₂ over r (directions averaged)."""
    out: dict[str, Any] = {}
    for name, r in ref.items():
        g = gen[name]
        s_ref = np.mean([np.asarray(v) for v in r["two_point"].values()], axis=0)
        s_gen = np.mean([np.asarray(v) for v in g["two_point"].values()], axis=0)
        n = min(s_ref.size, s_gen.size)
        c_ref = np.nanmean(list(r["mean_chord_length_um"].values()))
        c_gen = np.nanmean(list(g["mean_chord_length_um"].values()))
        out[name] = {"volume_fraction": g["volume_fraction"] - r["volume_fraction"],
                     "specific_surface_area_relative": g["specific_surface_area_per_um"]
                     / max(r["specific_surface_area_per_um"], 1e-12) - 1,
                     "two_point_max_abs": float(np.max(np.abs(s_gen[:n] - s_ref[:n]))),
                     "mean_chord_length_relative": float(c_gen / c_ref - 1) if c_ref > 0 else float("nan")}
    return out


def section_representativity(labels2d: np.ndarray | Sequence[np.ndarray], values: Mapping[str, int], *,
                             min_squares: int = 8) -> dict[str, dict[str, float]]:
    """1σ representativity uncertainty of each phase's fraction and boundary length per area measured
    on 2-D section(s) (a 2-D image, a stack, or a list of images of any shapes): the absolute
    uncertainty of the fraction and the relative one of the boundary length (∝ the stereological
    surface area).

    The section is cut into non-overlapping squares of edge ℓ; for ℓ beyond the correlation length
    the variance of an additive quantity's mean over a square falls as ``K/ℓ²`` (integral range in
    2-D, Kanit et al. 2003, doi:10.1016/S0020-7683(03)00143-4, eq. 18 with d = 2). ``K`` is estimated
    from every size with at least ``min_squares`` squares (weighted by their number) and gives the
    uncertainty of the whole sections' value, ``√(K/A)`` with A their total area — sections far apart
    count as independent. What 2-D sections cannot say: whether the sampled region itself represents
    the material (its position in the electrode, gradients through it), nor anisotropy.
    """
    from ionscope.micro.surface import marching_cubes_area

    arr = labels2d if isinstance(labels2d, list | tuple) else np.asarray(labels2d)
    slices = [np.asarray(a) for a in (arr if isinstance(arr, list | tuple) or np.ndim(arr) == 3 else [arr])]
    edges = np.unique(np.round(np.geomspace(8, min(min(sl.shape) for sl in slices) // 3, 6)).astype(int))
    area = float(sum(sl.size for sl in slices))
    out: dict[str, dict[str, float]] = {}
    for name, v in values.items():
        masks = [sl == v for sl in slices]
        frac = float(sum(np.count_nonzero(m) for m in masks) / area)
        bnd_total = sum(marching_cubes_area(m, (1.0, 1.0)) for m in masks) / area
        k_frac, k_bnd, wts = [], [], []
        for e in edges:
            fr: list[float] = []
            bd: list[float] = []
            for m in masks:
                jy, jx = m.shape[0] // e, m.shape[1] // e
                fr.extend(m[:jy * e, :jx * e].reshape(jy, e, jx, e).mean(axis=(1, 3)).ravel())
                bd.extend(marching_cubes_area(m[a * e:(a + 1) * e, b * e:(b + 1) * e], (1.0, 1.0)) / (e * e)
                          for a in range(jy) for b in range(jx))
            if len(fr) < min_squares:
                continue
            k_frac.append(np.var(fr, ddof=1) * e * e)
            k_bnd.append(np.var(bd, ddof=1) * e * e)
            wts.append(len(fr))
        if not wts:
            out[name] = {"fraction": frac, "fraction_uncertainty": float("nan"),
                         "boundary_relative_uncertainty": float("nan")}
            continue
        out[name] = {"fraction": frac,
                     "fraction_uncertainty": float(math.sqrt(np.average(k_frac, weights=wts) / area)),
                     "boundary_relative_uncertainty": float(math.sqrt(np.average(k_bnd, weights=wts) / area)
                                                            / max(bnd_total, 1e-12))}
    return out


# --------------------------------------------------------------------------- entry point


def check_image(labels2d: np.ndarray, values: Mapping[str, int], r_max: int, path: Any = None) -> dict[str, float]:
    """Refuse images too small for the statistics: each phase's correlation length × ``MIN_RANGE_FACTOR``
    must fit within the two-point range, and the range within half the image (pairs at larger
    offsets are too few to estimate S₂). Return each phase's correlation length (px)."""
    ny, nx = labels2d.shape[-2:]
    if r_max > min(ny, nx) // 2:
        raise ValidationError(f"a {ny}×{nx} px image is too small for two-point statistics up to {r_max} px "
                              f"(needs at least {2 * r_max} px on each side)", path=path)
    lengths = {}
    for name, v in values.items():
        m = labels2d == v
        p = float(m.mean())
        if p == 0:
            raise ValidationError(f"phase {name} ({v}) does not occur in the image", path=path)
        ell = correlation_length(radial_two_point(m, r_max), p)
        if MIN_RANGE_FACTOR * ell > r_max:
            raise ValidationError(f"phase {name} is correlated over {ell:.1f} px: the image ({ny}×{nx} px) is too "
                                  f"small to measure it (two-point range {r_max} px, need {MIN_RANGE_FACTOR:g}× the "
                                  f"correlation length)", path=path)
        lengths[name] = ell
    return lengths


def generate(labels2d: np.ndarray, values: Mapping[str, int], shape: Sequence[int], *, method: str = "grf",
             r_max: int | None = None, seed: int = 0, path: Any = None, device: str = "cpu",
             iterations: int = 300, sweeps: float = 2.0,
             progress: Callable[[int, int, float], None] | None = None) -> tuple[np.ndarray, dict]:
    """Generate a 3-D label volume of ``shape`` whose statistics match the 2-D section(s) ``labels2d``.

    ``method``: ``grf`` (pluri-Gaussian random fields, the default), ``anneal`` (the ``grf`` volume
    refined by simulated annealing on S₂ and the lineal path, :mod:`ionscope.micro.generate_anneal`;
    ``sweeps`` swaps per voxel) or ``slicegan`` (:mod:`ionscope.micro.generate_slicegan`; ``device``
    and ``iterations`` apply to it). ``progress(done, total, loss)`` follows annealing or training.
    """
    lab = np.asarray(labels2d)
    if lab.ndim == 2:
        lab = lab[None]
    if method not in METHODS:
        raise ValidationError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    ny, nx = lab.shape[1:]
    r = int(r_max if r_max is not None else min(ny, nx) // 2)
    lengths = check_image(lab, values, r, path)
    t0 = time.perf_counter()
    if method == "slicegan":
        from ionscope.micro.generate_slicegan import slicegan_volume

        vol, info = slicegan_volume(lab, list(values.values()), shape, seed=seed, device=device,
                                    iterations=iterations, progress=progress)
        info["order"] = list(values)
    else:
        fit = fit_pluri_gaussian(lab, list(values.values()), r)
        vol = grf_volume(fit, shape, seed)
        info = {"order": [next(k for k, v in values.items() if v == o) for o in fit["order"]],
                "order_error": fit["error"], "couplings": fit["couplings"]}
        if method == "anneal":
            from ionscope.micro.generate_anneal import anneal

            vol, log = anneal(vol, lab, list(values.values()), r_max=min(16, r, min(shape) - 1), sweeps=sweeps,
                              seed=seed, progress=progress)
            info.update(log)
    info["seconds"] = time.perf_counter() - t0
    info["two_point_range_px"] = r
    info["correlation_length_px"] = lengths
    longest = max(lengths, key=lengths.__getitem__)
    info["warnings"] = [] if min(shape) >= MIN_RANGE_FACTOR * lengths[longest] else [
        f"the volume's smallest edge ({min(shape)} voxels) is less than {MIN_RANGE_FACTOR:g} correlation lengths of "
        f"phase {longest} ({lengths[longest]:.1f} px): a periodic box this small misrepresents its structure"]
    return vol, info


# --------------------------------------------------------------------------- anisotropic input

#: The volume axes (z, y, x) along the rows and columns of each named section.
PLANES = {"xy": (1, 2), "xz": (0, 2), "yz": (0, 1)}


def _check_sections(sections: Mapping[str, np.ndarray], values: Mapping[str, int], r_max: int,
                    paths: Mapping[str, Any]) -> None:
    """One phase set for all sections, every section 2-D and large enough (:func:`check_image`)."""
    sets = {k: {int(u) for u in np.unique(a)} for k, a in sections.items()}
    for k, a in sections.items():
        if np.ndim(a) != 2:
            raise ValidationError(f"the --{k} section must be one 2-D image, got shape {np.shape(a)}",
                                  path=paths.get(k))
    first = next(iter(sets))
    for k, s in sets.items():
        if s != sets[first]:
            raise ValidationError(f"the --{k} section has the phase values {sorted(s)}, the --{first} section "
                                  f"{sorted(sets[first])}: all sections must show the same phases", path=paths.get(k))
    for k, a in sections.items():
        check_image(np.asarray(a)[None], values, r_max, paths.get(k))


def _half_lag(c: np.ndarray) -> float:
    """Lag (px, linear interpolation) at which a normalised correlation first falls to ½."""
    below = np.flatnonzero(c <= 0.5)
    if not below.size:
        return float(c.size - 1)
    k = int(below[0])
    if k == 0:
        return 0.5
    return float(k - 1 + (c[k - 1] - 0.5) / max(c[k - 1] - c[k], 1e-12))


def anisotropic_targets(sections: Mapping[str, np.ndarray], values: Sequence[int], r_max: int,
                        ) -> tuple[dict[int, np.ndarray], np.ndarray, dict[int, dict[int, np.ndarray]]]:
    """Per-axis S₂ from three orthogonal sections, the model's stretch along z, y, x and its isotropic S₂.

    Each volume axis lies in two of the sections (x in xy and xz, y in xy and yz, z in xz and yz);
    its S₂ is the mean of the two estimates. The model is a stretched isotropic one,
    ``ρ(r) = ρ_iso(|(r_z/s_z, r_y/s_y, r_x/s_x)|)`` (geometric anisotropy, Chilès & Delfiner 2012,
    *Geostatistics*, doi:10.1002/9781118136188, section 2.5.2): every phase's correlation length along
    axis a is then ``s_a`` times its isotropic one: every level of the normalised correlation
    ``(S₂(r) − p²)/(p − p²)`` is crossed at a lag ∝ ``s_a``. ``s_a`` is taken from the lag at which it
    falls to ½ (each section normalised by its own fraction; geometric mean over phases), scaled so
    that ``s_z·s_y·s_x = 1``. The isotropic S₂ is the mean of the axes' S₂ read at lag ``r·s_a``.
    """
    axis_s2: dict[int, dict[int, np.ndarray]] = {v: {} for v in values}
    half = np.ones((len(values), 3))
    for i, v in enumerate(values):
        for ax in range(3):
            est, norm = [], []
            for name, img in sections.items():
                planes = PLANES[name]
                if ax in planes:
                    m = np.asarray(img) == v
                    e = axis_two_point(m, planes.index(ax), r_max)
                    p = float(m.mean())
                    est.append(e)
                    norm.append((e - p * p) / max(p - p * p, 1e-12))
            n = min(e.size for e in est)
            axis_s2[v][ax] = np.mean([e[:n] for e in est], axis=0)
            half[i, ax] = _half_lag(np.mean([c[:n] for c in norm], axis=0))
    scale = np.exp(np.mean(np.log(half), axis=0))
    scale = scale / np.exp(np.mean(np.log(scale)))
    n_iso = int(min((axis_s2[values[0]][ax].size - 1) / scale[ax] for ax in range(3)))
    r = np.arange(n_iso + 1, dtype=float)
    iso = {v: np.mean([np.interp(r * scale[ax], np.arange(axis_s2[v][ax].size), axis_s2[v][ax]) for ax in range(3)],
                      axis=0) for v in values}
    return iso, scale, axis_s2


def generate_anisotropic(sections: Mapping[str, np.ndarray], values: Mapping[str, int], shape: Sequence[int], *,
                         r_max: int | None = None, seed: int = 0, paths: Mapping[str, Any] | None = None,
                         method: str = "grf", sweeps: float = 2.0,
                         progress: Callable[[int, int, float], None] | None = None) -> tuple[np.ndarray, dict]:
    """A pluri-Gaussian volume from three orthogonal sections ``{"xy": …, "xz": …, "yz": …}``.

    Rows and columns of the sections: xy (y, x), xz (z, x), yz (z, y). The field correlation is the
    isotropic one fitted to the stretched-back S₂ (:func:`anisotropic_targets`), stretched by
    ``s_z, s_y, s_x``; order and couplings are chosen on simulated sections of each plane with that
    plane's stretch (:func:`fit_pluri_gaussian`). Refused: a section that is not 2-D, sections with
    different phase sets, a section too small for the two-point range. ``method="anneal"`` refines
    the volume by simulated annealing with each axis's own targets
    (:func:`ionscope.micro.generate_anneal.plane_targets`).
    """
    paths = dict(paths or {})
    missing = [k for k in PLANES if k not in sections]
    if missing:
        raise ValidationError(f"anisotropic input needs all three sections --xy, --xz, --yz (missing "
                              f"{', '.join('--' + k for k in missing)})")
    r = int(r_max if r_max is not None else min(min(np.shape(a)) for a in sections.values()) // 2)
    _check_sections(sections, values, r, paths)
    t0 = time.perf_counter()
    vals = list(values.values())
    iso, scale, _ = anisotropic_targets(sections, vals, r)
    fit_sections = [_Section(np.asarray(sections[k]), vals, iso[vals[0]].size - 1,
                             (float(scale[PLANES[k][0]]), float(scale[PLANES[k][1]]))) for k in PLANES]
    fit = fit_pluri_gaussian(fit_sections, vals, iso[vals[0]].size - 1, two_point=iso, seed=seed + 12345)
    vol = grf_volume(fit, shape, seed, scale=tuple(float(s) for s in scale))
    log: dict[str, Any] = {}
    if method == "anneal":
        from ionscope.micro.generate_anneal import anneal, plane_targets

        ra = min(16, r, min(shape) - 1)
        vol, log = anneal(vol, None, vals, r_max=ra, sweeps=sweeps, seed=seed, progress=progress,
                          targets=plane_targets(sections, vals, ra))
    elif method != "grf":
        raise ValidationError(f"three orthogonal sections work with --method grf or anneal, got {method!r}")
    lengths = {name: float(np.mean([correlation_length(radial_two_point(np.asarray(a) == v, r),
                                                       float(np.mean(np.asarray(a) == v)))
                                    for a in sections.values()])) for name, v in values.items()}
    info = {"order": [next(k for k, v in values.items() if v == o) for o in fit["order"]],
            "order_error": fit["error"], "couplings": fit["couplings"], "stretch_zyx": scale.tolist(),
            "seconds": time.perf_counter() - t0, "two_point_range_px": r, "correlation_length_px": lengths, **log}
    longest = max(lengths, key=lengths.__getitem__)
    info["warnings"] = [] if min(shape) >= MIN_RANGE_FACTOR * lengths[longest] * max(scale) else [
        f"the volume's smallest edge ({min(shape)} voxels) is less than {MIN_RANGE_FACTOR:g} correlation lengths of "
        f"phase {longest} along its longest direction: a periodic box this small misrepresents its structure"]
    return vol, info


def anisotropic_section_statistics(sections: Mapping[str, np.ndarray], values: Mapping[str, int], spacing_um: float,
                                   *, r_max: int = 32) -> dict[str, Any]:
    """:func:`section_statistics` of three orthogonal sections, merged per volume axis.

    Fractions are pixel-weighted means; S₂ and chord lengths along each axis are the means of the two
    sections containing it; the surface area is the mean of the sections' ``(4/π)·L_A`` (exact for
    isotropic structures, an approximation for anisotropic ones).
    """
    per = {k: section_statistics(np.asarray(a)[None], values, spacing_um, r_max=r_max) for k, a in sections.items()}
    n_px = {k: np.asarray(a).size for k, a in sections.items()}
    out: dict[str, Any] = {}
    for name in values:
        s2: dict[str, list] = {}
        chord: dict[str, list] = {}
        for k, st in per.items():
            for local, ax in zip("yx", PLANES[k], strict=True):
                s2.setdefault("zyx"[ax], []).append(np.asarray(st[name]["two_point"][local]))
                chord.setdefault("zyx"[ax], []).append(st[name]["mean_chord_length_um"][local])
        out[name] = {
            "volume_fraction": float(np.average([per[k][name]["volume_fraction"] for k in per],
                                                weights=[n_px[k] for k in per])),
            "two_point": {a: np.mean([e[:min(x.size for x in v)] for e in v], axis=0).tolist()
                          for a, v in sorted(s2.items())},
            "mean_chord_length_um": {a: float(np.nanmean(v)) for a, v in sorted(chord.items())},
            "specific_surface_area_per_um": float(np.mean([per[k][name]["specific_surface_area_per_um"]
                                                           for k in per]))}
    return out
