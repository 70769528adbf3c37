"""Non-negative factorisations of counts: NMF with the Poisson (KL) loss and MCR-ALS.

Both model the (optionally scaled) samples × peaks counts as ``X ≈ C S`` with abundance maps
``C ≥ 0`` (n × k) and component spectra ``S ≥ 0`` (k × p). Results are returned in count units:
when Poisson scaling was applied, ``C`` and ``S`` are unscaled (``X = D_h^{-1/2}… `` is inverted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.deprecation import renamed_parameters
from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Result
from ionscope.mva.preprocess import Preprocessed, check_components, flatten, preprocess
from ionscope.mva.result import MVAResult, expand_rows, loadings_array

_EPS = 1e-12


def nndsvd_init(x: np.ndarray, k: int) -> Result:
    """Deterministic non-negative start from the leading singular triplets (NNDSVDa; Boutsidis & Gallopoulos 2008).

    Zeros are filled with the data mean so multiplicative updates can move them.

    Returns
    -------
    Result
        ``kind="mva.nndsvd"``: ``W`` (n × k) and ``H`` (k × p), the starting factors of :func:`kl_nmf`
        (``H`` also starts :func:`mcr_als`).
    """
    from sklearn.utils.extmath import randomized_svd

    u, s, vt = randomized_svd(x, k, n_oversamples=10, n_iter=5, random_state=0)
    w = np.zeros((x.shape[0], k))
    h = np.zeros((k, x.shape[1]))
    for j in range(k):
        uj, vj = u[:, j], vt[j]
        up, un = np.maximum(uj, 0), np.maximum(-uj, 0)
        vp, vn = np.maximum(vj, 0), np.maximum(-vj, 0)
        pos = np.linalg.norm(up) * np.linalg.norm(vp)
        neg = np.linalg.norm(un) * np.linalg.norm(vn)
        a, b, m = (up, vp, pos) if pos >= neg else (un, vn, neg)
        scale = np.sqrt(s[j] * m) if m > 0 else 0.0
        w[:, j] = scale * a / max(np.linalg.norm(a), _EPS)
        h[j] = scale * b / max(np.linalg.norm(b), _EPS)
    avg = x.mean()
    w[w <= 0] = avg
    h[h <= 0] = avg
    return Result("mva.nndsvd", {"W": w, "H": h})


def kl_nmf(x: np.ndarray, k: int, *, max_iter: int = 1000, tol: float = 1e-5,
           on_iteration: Callable[[int, int], None] | None = None) -> Result:
    """NMF minimising the generalised Kullback–Leibler divergence (Poisson log-likelihood) of ``x ≈ W H``.

    Multiplicative updates of Lee & Seung (2001, Adv. Neural Inf. Process. Syst. 13, 556):
    ``H ← H ∘ (Wᵀ (X / WH)) / (Wᵀ 1)``, ``W ← W ∘ ((X / WH) Hᵀ) / (1 Hᵀ)``.

    The ratio ``X / WH`` is zero wherever ``X`` is, so it is formed only at the non-zero counts
    (a sparse matrix) when fewer than half the entries are non-zero — a TOF-SIMS image of a few
    counts per channel and pixel is mostly zeros — and the divergence uses
    ``Σ WH = (Σᵢ W)·(Σⱼ H)``; the updates are the same as with the dense matrix up to round-off.

    Convergence: every 10 iterations the divergence ``D`` (counts; the Poisson negative
    log-likelihood up to a constant) is evaluated, and the fit stops when its decrease over those
    10 iterations is below ``tol · D``. The default ``tol = 1e-5`` is ten times stricter than
    scikit-learn's NMF default (1e-4 of the initial divergence, also checked every 10 iterations;
    Pedregosa et al. 2011, J. Mach. Learn. Res. 12, 2825). Multiplicative updates slow down near
    the optimum and keep drifting along the directions in which NMF is not unique, so a much smaller
    ``tol`` costs thousands of iterations for changes of the likelihood far below its counting noise.
    The cap is ``max_iter``; callers warn when it is reached (:func:`nmf`).
    ``on_iteration(iteration, max_iter)`` is called every 10 iterations.

    Returns
    -------
    Result
        ``mva.kl_nmf``: ``W`` (n × k), ``H`` (k × p), ``iterations``, the final ``kl_divergence``
        (counts) and ``converged`` (the criterion was met before ``max_iter``).
    """
    start = nndsvd_init(x, k)
    w, h = start.W, start.H
    ratio = _kl_ratio(x)
    prev, div, it, converged = np.inf, np.inf, 0, False
    for it in range(1, max_iter + 1):
        h *= ratio.left(w, h) / (w.sum(axis=0)[:, None] + _EPS)
        w *= ratio.right(w, h) / (h.sum(axis=1)[None, :] + _EPS)
        if it % 10 == 0:
            if on_iteration:
                on_iteration(it, max_iter)
            div = ratio.divergence(w, h)
            if prev - div < tol * abs(div):
                converged = True
                break
            prev = div
    if it % 10:
        div = ratio.divergence(w, h)
    return Result("mva.kl_nmf", {"W": w, "H": h, "iterations": it, "kl_divergence": div, "converged": converged})


class _DenseRatio:
    """``X / WH`` and the KL divergence with a dense counts matrix."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.pos = x > 0
        self.xlogx = np.where(self.pos, x * np.log(np.where(self.pos, x, 1.0)), 0.0).sum()

    def _q(self, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        return self.x / (w @ h + _EPS)

    def left(self, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        """``Wᵀ (X / WH)`` (k × p)."""
        return w.T @ self._q(w, h)

    def right(self, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        """``(X / WH) Hᵀ`` (n × k)."""
        return self._q(w, h) @ h.T

    def divergence(self, w: np.ndarray, h: np.ndarray) -> float:
        """Generalised KL divergence ``Σ x log(x / wh) − x + wh`` (counts)."""
        wh = w @ h + _EPS
        return float(self.xlogx - np.sum(self.x[self.pos] * np.log(wh[self.pos])) - self.x.sum() + wh.sum())


class _SparseRatio:
    """``X / WH`` and the KL divergence evaluated at the non-zero counts of ``X`` only (numba kernels)."""

    def __init__(self, x: np.ndarray) -> None:
        from scipy import sparse

        q = sparse.csr_matrix(x)
        self.indptr, self.indices = q.indptr.astype(np.int64), q.indices.astype(np.int64)
        self.v = q.data.astype(np.float64)
        self.shape = x.shape
        self.xlogx = float(np.sum(self.v * np.log(self.v)))
        self.total = float(self.v.sum())

    def _csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.indptr, self.indices, self.v

    def left(self, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        from ionscope.mva._kl_kernel import ratio_left

        return ratio_left(*self._csr(), np.ascontiguousarray(w), np.ascontiguousarray(h))

    def right(self, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        from ionscope.mva._kl_kernel import ratio_right

        return ratio_right(*self._csr(), np.ascontiguousarray(w), np.ascontiguousarray(h))

    def divergence(self, w: np.ndarray, h: np.ndarray) -> float:
        from ionscope.mva._kl_kernel import x_log_wh

        total_wh = float(w.sum(axis=0) @ h.sum(axis=1)) + _EPS * self.shape[0] * self.shape[1]
        return float(self.xlogx - x_log_wh(*self._csr(), np.ascontiguousarray(w), np.ascontiguousarray(h))
                     - self.total + total_wh)


def _kl_ratio(x: np.ndarray) -> _DenseRatio | _SparseRatio:
    """The sparse evaluation when under half of ``x`` is non-zero (it then costs less than the dense one)."""
    if np.count_nonzero(x) < 0.5 * x.size:
        return _SparseRatio(x)
    return _DenseRatio(x)


def mcr_als(x: np.ndarray, k: int, *, max_iter: int = 200, tol: float = 1e-7, closure: float | None = None,
            known: dict[int, np.ndarray] | None = None, nonneg: str = "clip",
            init: np.ndarray | None = None,
            on_iteration: Callable[[int, int], None] | None = None) -> Result:
    """Multivariate curve resolution by alternating least squares (Tauler 1995; de Juan & Tauler 2006).

    Alternates ``C = argmin‖X − C S‖`` and ``S = argmin‖X − C S‖`` under constraints:
    non-negativity of both (``nonneg="clip"``: least squares then clipping, fast; ``"nnls"``: exact
    row-wise :func:`scipy.optimize.nnls`), optional closure (each row of ``C`` sums to ``closure``)
    and known spectra held fixed (``known``: component index → spectrum). ``on_iteration(iteration,
    max_iter)`` is called after each iteration (progress display).

    Products with ``X`` use a sparse matrix when under half of it is non-zero, and both least-squares
    steps are solved from their k × k normal equations; the residual ‖X − C S‖ is formed from
    ``CᵀX``, ``CᵀC`` and ``S Sᵀ`` (no n × p array). Convergence: the fit stops when the relative
    residual changes by less than ``tol`` (absolute, a fraction of ‖X‖) between two iterations; the cap
    is ``max_iter`` and callers warn when it is reached (:func:`mcr`).

    Returns
    -------
    Result
        ``mva.mcr_als``: ``C`` (n × k), ``S`` (k × p), ``iterations`` and the final
        ``relative_residual`` ‖X − C S‖/‖X‖ (1) and ``converged``.
    """
    known = dict(known or {})
    s = nndsvd_init(x, k).H if init is None else np.array(init, dtype=float)
    for j, spec in known.items():
        s[j] = spec
    xs = _Counts(x)
    prev, err, it, converged = np.inf, np.inf, 0, False
    c = np.zeros((x.shape[0], k))
    while it < max_iter:
        it += 1
        c = _nn_solve(s @ s.T, xs.times_right(s.T).T, nonneg, s.T, x.T).T
        if closure is not None:
            c = c / np.maximum(c.sum(axis=1, keepdims=True), _EPS) * closure
        ctx = xs.times_left(c.T)
        s_new = _nn_solve(c.T @ c, ctx, nonneg, c, x)
        for j, spec in known.items():
            s_new[j] = spec
        s = s_new
        err = xs.relative_residual(c, s, ctx)
        if on_iteration:
            on_iteration(it, max_iter)
        if abs(prev - err) < tol:
            converged = True
            break
        prev = err
    return Result("mva.mcr_als", {"C": c, "S": s, "iterations": it, "relative_residual": err,
                                  "converged": converged})


class _Counts:
    """The data matrix for the products MCR-ALS needs, sparse when under half of it is non-zero."""

    def __init__(self, x: np.ndarray) -> None:
        if np.count_nonzero(x) < 0.5 * x.size:
            from scipy import sparse

            self.m: Any = sparse.csr_matrix(x)
        else:
            self.m = x
        self.sq = float(np.sum(np.square(x)))

    def times_right(self, b: np.ndarray) -> np.ndarray:
        """``X b`` (n × k)."""
        return np.asarray(self.m @ b)

    def times_left(self, a: np.ndarray) -> np.ndarray:
        """``a X`` (k × p), as ``(Xᵀ aᵀ)ᵀ``."""
        return np.asarray((self.m.T @ a.T).T)

    def relative_residual(self, c: np.ndarray, s: np.ndarray, ctx: np.ndarray) -> float:
        """``‖X − C S‖ / ‖X‖`` from ``‖X‖² − 2 Σ (CᵀX)∘S + Σ (CᵀC)∘(S Sᵀ)`` (``ctx = CᵀX``), no n × p array."""
        r2 = self.sq - 2.0 * float(np.sum(ctx * s)) + float(np.sum((c.T @ c) * (s @ s.T)))
        return float(np.sqrt(max(r2, 0.0) / self.sq)) if self.sq > 0 else 0.0


def _nn_solve(gram: np.ndarray, rhs: np.ndarray, mode: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares ``z ≥ 0`` of ``a @ z ≈ b`` given the normal equations ``gram z = rhs``
    (``gram = aᵀa``, ``rhs = aᵀb``; k × k, so solving them costs nothing next to forming ``aᵀb``).

    ``"clip"`` solves the unconstrained problem (minimum-norm, as :func:`numpy.linalg.lstsq`) and clips
    negatives to zero; ``"nnls"`` solves each column exactly with :func:`scipy.optimize.nnls` on ``a``, ``b``.
    """
    if mode == "clip":
        return np.maximum(np.linalg.lstsq(gram, rhs, rcond=None)[0], 0.0)
    return _nn_lstsq(a, b, mode)


def _nn_lstsq(a: np.ndarray, b: np.ndarray, mode: str) -> np.ndarray:
    """Solve ``a @ z ≈ b`` for z ≥ 0 (columns of b independently)."""
    if mode == "clip":
        z = np.linalg.lstsq(a, b, rcond=None)[0]
        return np.maximum(z, 0.0)
    if mode == "nnls":
        from scipy.optimize import nnls

        return np.stack([nnls(a, b[:, j])[0] for j in range(b.shape[1])], axis=1)
    raise ValidationError(f"unknown non-negativity mode {mode!r}; expected 'clip' or 'nnls'")


def _unconverged(name: str, converged: bool, max_iter: int, tol: float) -> tuple[str, ...]:
    """A warning when an iterative factorisation stopped at its iteration limit before its criterion was met."""
    if converged:
        return ()
    return (f"{name} stopped at its limit of {max_iter} iterations before its change fell below {tol:g}: the "
            "factors may not have converged; allow more iterations",)


def _prepare(data: xr.DataArray, k: int, scaling: str, normalisation: str, reference: str | None,
             mask: Any) -> tuple[Any, Preprocessed]:
    flat = flatten(data)
    pre = preprocess(flat, scaling=scaling, normalisation=normalisation, reference=reference, centre=False, mask=mask)
    check_components(k, *pre.matrix.shape)
    return flat, pre


def _finish(method: str, data: xr.DataArray, flat: Any, pre: Preprocessed, c: np.ndarray, s: np.ndarray,
            params: dict[str, Any], values: dict[str, Any], warnings: tuple[str, ...] = ()) -> MVAResult:
    c = c / pre.row_scale[:, None].clip(_EPS) if np.any(pre.row_scale != 1) else c
    s = s / pre.col_scale[None, :]
    # order by total signal (Σ C · Σ S), decreasing; spectra normalised to unit sum, maps carry counts
    tot = s.sum(axis=1)
    s = s / np.where(tot > 0, tot, 1.0)[:, None]
    c = c * tot[None, :]
    order = np.argsort(-c.sum(axis=0))
    c, s = c[:, order], s[order]
    maps = flat.unflatten(expand_rows(c, pre.keep), "component", name="abundance", units="counts")
    spectra = loadings_array(s, flat, name="spectra", units="fraction of component counts")
    prov = make_provenance(f"ionscope.mva.{method}", parameters=params,
                           parents=[data.attrs["provenance"]] if "provenance" in data.attrs else [])
    return MVAResult(method, maps, spectra, None, values=values, warnings=warnings, provenance=prov)


@renamed_parameters(normalise="normalisation")
def nmf(data: xr.DataArray, n_components: int, *, scaling: str = "none", normalisation: str = "none",
        reference: str | None = None, mask: Any = None, max_iter: int = 1000, tol: float = 1e-5,
        on_iteration: Callable[[int, int], None] | None = None) -> MVAResult:
    """Poisson (KL) NMF of counts with a ``peak`` dim; maps in counts, spectra normalised to unit sum.

    ``scaling="none"`` (default) is the maximum-likelihood choice for raw counts; ``"poisson"``
    applies Keenan–Kotula weighting first and unscales the factors afterwards. Components are
    ordered by total counts, decreasing. Stops when the divergence decreases by less than ``tol``
    (relative) over 10 iterations, at most ``max_iter`` iterations (a warning when the cap is reached);
    see :func:`kl_nmf`.
    """
    flat, pre = _prepare(data, n_components, scaling, normalisation, reference, mask)
    fit = kl_nmf(pre.matrix, n_components, max_iter=max_iter, tol=tol, on_iteration=on_iteration)
    w, h, it, div = fit.W, fit.H, fit.iterations, fit.kl_divergence
    params = {"n_components": n_components, "scaling": scaling, "normalisation": normalisation, "max_iter": max_iter,
              "tol": tol, "loss": "kullback-leibler", "init": "nndsvda"}
    return _finish("nmf", data, flat, pre, w, h, params, {"iterations": it, "kl_divergence": div},
                   _unconverged("NMF", fit.converged, max_iter, tol))


@renamed_parameters(normalise="normalisation")
def mcr(data: xr.DataArray, n_components: int, *, scaling: str = "none", normalisation: str = "none",
        reference: str | None = None, mask: Any = None, closure: float | None = None,
        known_spectra: dict[int, Any] | None = None, nonneg: str = "clip", max_iter: int = 200,
        tol: float = 1e-7, on_iteration: Callable[[int, int], None] | None = None) -> MVAResult:
    """MCR-ALS with non-negativity, optional closure and fixed known spectra (see :func:`mcr_als`).

    ``known_spectra`` maps a component index to a spectrum over the peaks (in the data's units,
    before scaling); those components keep their spectrum shape.
    """
    flat, pre = _prepare(data, n_components, scaling, normalisation, reference, mask)
    known = {}
    for j, spec in (known_spectra or {}).items():
        spec = np.asarray(spec, dtype=float)
        if spec.shape != (pre.matrix.shape[1],) or not 0 <= int(j) < n_components:
            raise ValidationError(f"known spectrum {j} must be a component index < {n_components} with "
                                  f"{pre.matrix.shape[1]} values, got shape {spec.shape}")
        known[int(j)] = spec * pre.col_scale
    fit = mcr_als(pre.matrix, n_components, max_iter=max_iter, tol=tol, closure=closure,
                  known=known, nonneg=nonneg, on_iteration=on_iteration)
    c, s, it, err = fit.C, fit.S, fit.iterations, fit.relative_residual
    params = {"n_components": n_components, "scaling": scaling, "normalisation": normalisation, "closure": closure,
              "known_spectra": sorted(known), "nonneg": nonneg, "max_iter": max_iter, "tol": tol}
    return _finish("mcr", data, flat, pre, c, s, params, {"iterations": it, "relative_residual": err},
                   _unconverged("MCR-ALS", fit.converged, max_iter, tol))
