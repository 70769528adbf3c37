"""Local maxima, prominences and widths of a 1-D signal in NumPy.

The same definitions and tie rules as :func:`scipy.signal.find_peaks`, :func:`scipy.signal.peak_prominences`
and :func:`scipy.signal.peak_widths` (checked against them in ``tests/spectra/test_peaks_calibration.py``),
without importing ``scipy.signal``, whose import (it pulls in ``scipy.stats``) costs more than analysing a
spectrum: this keeps ``ionscope spectrum …`` quick to start.
"""

from __future__ import annotations

import numpy as np


def local_maxima(y: np.ndarray, height: np.ndarray | float | None = None) -> np.ndarray:
    """Indices of local maxima (the middle sample, rounded down, of a flat top); the first and last
    samples are never maxima. ``height`` (scalar or one value per sample) keeps maxima with ``y ≥ height``."""
    y = np.asarray(y, dtype=float)
    if y.size < 3:
        return np.zeros(0, dtype=np.intp)
    change = np.flatnonzero(np.diff(y) != 0) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change - 1, [y.size - 1]))
    vals = y[starts]
    r = np.arange(1, starts.size - 1)
    top = r[(vals[r - 1] < vals[r]) & (vals[r + 1] < vals[r])]
    peaks = ((starts[top] + ends[top]) // 2).astype(np.intp)
    if height is not None:
        h = np.broadcast_to(np.asarray(height, dtype=float), y.shape)
        peaks = peaks[y[peaks] >= h[peaks]]
    return peaks


def prominences(y: np.ndarray, peaks: np.ndarray, wlen: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prominence of each peak and its left/right bases, searched within ``wlen`` samples centred on it.

    Going outwards from the peak until a higher sample (or the window edge), the lowest sample on each
    side is the base (the one closest to the peak among equals); prominence = peak − the higher base.
    """
    y = np.asarray(y, dtype=float)
    n = y.size
    prom = np.empty(peaks.size)
    lb = np.empty(peaks.size, dtype=np.intp)
    rb = np.empty(peaks.size, dtype=np.intp)
    half = None if wlen is None or wlen < 2 else int(np.ceil(wlen)) // 2
    for k, p in enumerate(peaks):
        lo = 0 if half is None else max(p - half, 0)
        hi = n - 1 if half is None else min(p + half, n - 1)
        h = y[p]
        left = y[lo:p + 1]
        higher = np.flatnonzero(left > h)
        start = lo + (higher[-1] + 1 if higher.size else 0)
        seg = y[start:p + 1]
        j = seg.size - 1 - int(np.argmin(seg[::-1]))  # rightmost minimum
        lb[k], lmin = start + j, seg[j]
        right = y[p:hi + 1]
        higher = np.flatnonzero(right > h)
        stop = p + (higher[0] if higher.size else right.size)
        seg = y[p:stop]
        j = int(np.argmin(seg))  # leftmost minimum
        rb[k], rmin = p + j, seg[j]
        prom[k] = h - max(lmin, rmin)
    return prom, lb, rb


def widths(y: np.ndarray, peaks: np.ndarray, rel_height: float,
           prominence_data: tuple[np.ndarray, np.ndarray, np.ndarray]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Width of each peak at ``peak − rel_height·prominence``, between its bases, with linear
    interpolation: ``(widths, width_heights, left_ips, right_ips)`` in samples."""
    y = np.asarray(y, dtype=float)
    prom, lbase, rbase = prominence_data
    w = np.empty(peaks.size)
    wh = np.empty(peaks.size)
    lip = np.empty(peaks.size)
    rip = np.empty(peaks.size)
    for k, p in enumerate(peaks):
        h = y[p] - prom[k] * rel_height
        i_min, i_max = int(lbase[k]), int(rbase[k])
        seg = y[i_min + 1:p + 1]
        below = np.flatnonzero(seg <= h)
        i = i_min + 1 + int(below[-1]) if below.size else i_min
        left = float(i)
        if y[i] < h:
            left += (h - y[i]) / (y[i + 1] - y[i])
        seg = y[p:i_max]
        below = np.flatnonzero(seg <= h)
        i = p + int(below[0]) if below.size else i_max
        right = float(i)
        if y[i] < h:
            right -= (h - y[i]) / (y[i - 1] - y[i])
        w[k], wh[k], lip[k], rip[k] = right - left, h, left, right
    return w, wh, lip, rip


def nnls(a: np.ndarray, b: np.ndarray, maxiter: int | None = None) -> tuple[np.ndarray, float]:
    """Non-negative least squares ``min ‖a·x − b‖, x ≥ 0`` by the active-set method of Lawson & Hanson
    (*Solving Least Squares Problems*, 1974, ch. 23) — the algorithm of :func:`scipy.optimize.nnls`,
    here without importing ``scipy.optimize`` (start-up time). Each passive-set least-squares problem is
    solved from the normal equations ``aᵀa``, ``aᵀb``, formed once (Bro & De Jong, *J. Chemometrics* 11,
    393, 1997, doi:10.1002/(SICI)1099-128X(199709/10)11:5<393::AID-CEM483>3.0.CO;2-L); a singular one by
    least squares. Returns ``(x, residual norm)``."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    n = a.shape[1]
    maxiter = 3 * n if maxiter is None else maxiter
    ata, atb = a.T @ a, a.T @ b
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    tol = 10 * np.finfo(float).eps * max(np.abs(a).sum(axis=0).max(initial=0.0), 1.0) * max(a.shape)
    w = atb.copy()
    it = 0
    while (~passive).any() and np.max(np.where(passive, -np.inf, w)) > tol:
        passive[int(np.argmax(np.where(passive, -np.inf, w)))] = True
        s = _ls_on(ata, atb, passive)
        while np.any(s[passive] <= tol) and it < maxiter:
            it += 1
            q = passive & (s <= tol)
            alpha = float(np.min(x[q] / (x[q] - s[q])))
            x = x + alpha * (s - x)
            passive &= x > tol
            s = _ls_on(ata, atb, passive)
        x = s
        w = atb - ata @ x
        if it >= maxiter:
            break
    x = np.where(passive, np.maximum(x, 0.0), 0.0)
    return x, float(np.linalg.norm(a @ x - b))


def _ls_on(ata: np.ndarray, atb: np.ndarray, passive: np.ndarray) -> np.ndarray:
    """The least-squares solution on the ``passive`` columns (0 elsewhere), from the normal equations."""
    s = np.zeros(atb.size)
    idx = np.flatnonzero(passive)
    if idx.size:
        sub = ata[np.ix_(idx, idx)]
        try:
            s[idx] = np.linalg.solve(sub, atb[idx])
        except np.linalg.LinAlgError:
            s[idx] = np.linalg.lstsq(sub, atb[idx], rcond=None)[0]
    return s
