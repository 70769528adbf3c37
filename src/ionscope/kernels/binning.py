"""Compiled summing kernels over concatenated sparse spectra (no I/O).

The spectra are given as flat value arrays with a start offset and a length per spectrum (how a
processed imzML ``.ibd`` lays them out); each kernel fills one row of ``out`` per spectrum.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def sum_windows(mzv, mz_start, mz_len, intv, int_start, lo, hi, out):  # pragma: no cover - compiled
    """Sum intensities per spectrum and window; windows sorted by ``lo``.

    Short spectra (fewer than 500 values per window) are merged with the windows in one sequential
    pass — cache-friendly, the m/z array is read once in order; long profile spectra with few
    windows use a binary search per window instead.
    """
    k = lo.size
    for i in range(mz_start.size):
        m0 = mz_start[i]
        n = mz_len[i]
        i0 = int_start[i]
        if n == 0:
            continue
        linear = n < 500 * k
        j = 0
        for p in range(k):
            low = lo[p]
            if linear:
                while j < n and mzv[m0 + j] < low:
                    j += 1
            else:
                a = j
                b = n
                while a < b:
                    c = (a + b) >> 1
                    if mzv[m0 + c] < low:
                        a = c + 1
                    else:
                        b = c
                j = a
            s = 0.0
            high = hi[p]
            q = j
            while q < n and mzv[m0 + q] <= high:
                s += intv[i0 + q]
                q += 1
            out[i, p] = s


@numba.njit(cache=True, nogil=True)
def sum_bins(mzv, mz_start, mz_len, intv, int_start, edges, out):  # pragma: no cover - compiled
    nb = edges.size - 1
    for i in range(mz_start.size):
        m0 = mz_start[i]
        i0 = int_start[i]
        for j in range(mz_len[i]):
            k = np.searchsorted(edges, mzv[m0 + j], side="right") - 1
            if 0 <= k < nb:
                out[i, k] += intv[i0 + j]


__all__ = ["sum_bins", "sum_windows"]
