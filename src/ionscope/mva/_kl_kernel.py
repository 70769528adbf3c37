"""Numba kernels of KL-NMF multiplicative updates at the non-zero counts of a CSR matrix.

The ratio ``X / WH`` of the updates of Lee & Seung (2001, Adv. Neural Inf. Process. Syst. 13, 556) is
zero where ``X`` is zero, so ``Wᵀ (X / WH)`` and ``(X / WH) Hᵀ`` need ``WH`` only at the non-zero
entries. Each kernel forms that entry, divides and accumulates in one pass over the non-zeros: no
(samples × peaks) array and no (non-zeros × components) temporaries.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Added to every ``WH`` entry (as in the dense updates) so that an entry driven to zero cannot divide by zero.
EPS = 1e-12


@njit(inline="always")
def _wh(w: np.ndarray, h: np.ndarray, i: int, j: int) -> float:
    """``(WH)[i, j] + EPS``."""
    s = EPS
    for c in range(h.shape[0]):
        s += w[i, c] * h[c, j]
    return s


@njit(cache=True)
def ratio_left(indptr: np.ndarray, indices: np.ndarray, v: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``Wᵀ (X / WH)`` (k × p) from the CSR arrays of ``X`` (n × p), ``W`` (n × k) and ``H`` (k × p)."""
    k, p = h.shape
    out = np.zeros((k, p))
    for i in range(indptr.size - 1):
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            s = _wh(w, h, i, j)
            r = v[t] / s
            for c in range(k):
                out[c, j] += w[i, c] * r
    return out


@njit(cache=True)
def ratio_right(indptr: np.ndarray, indices: np.ndarray, v: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``(X / WH) Hᵀ`` (n × k) from the CSR arrays of ``X`` (n × p), ``W`` (n × k) and ``H`` (k × p)."""
    k = h.shape[0]
    n = indptr.size - 1
    out = np.zeros((n, k))
    for i in range(n):
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            s = _wh(w, h, i, j)
            r = v[t] / s
            for c in range(k):
                out[i, c] += r * h[c, j]
    return out


@njit(cache=True)
def x_log_wh(indptr: np.ndarray, indices: np.ndarray, v: np.ndarray, w: np.ndarray, h: np.ndarray) -> float:
    """``Σ x log(WH)`` over the non-zero entries ``x`` of ``X`` (the data term of the KL divergence)."""
    total = 0.0
    for i in range(indptr.size - 1):
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            s = _wh(w, h, i, j)
            total += v[t] * math.log(s)
    return total
