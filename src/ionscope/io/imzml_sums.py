"""Sums of a processed or continuous imzML's intensities in m/z windows or bins, per spectrum.

One compiled pass over the memory-mapped ``.ibd`` (:mod:`ionscope.kernels.binning`): per spectrum, a
binary search finds each window's first value and the intensities are summed until the window ends
(no Python loop per pixel, nothing densified).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ionscope.kernels.binning import sum_bins, sum_windows

if TYPE_CHECKING:
    from ionscope.io.imzml import ImzMLData


def _groups(src: ImzMLData) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]:
    """Spectra grouped by the byte residue of their m/z and intensity offsets (usually one group)."""
    ix = src.index
    mi, ii = ix.mz_dtype.itemsize, ix.int_dtype.itemsize
    rm, ri = ix.mz_offset % mi, ix.int_offset % ii
    key = rm * 16 + ri
    out = []
    for k in np.unique(key):
        sel = np.flatnonzero(key == k)
        r_mz, r_int = int(k // 16), int(k % 16)
        out.append((sel, (ix.mz_offset[sel] - r_mz) // mi, (ix.int_offset[sel] - r_int) // ii, r_mz, r_int))
    return out


def window_sums(src: ImzMLData, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(n_spectra, n_windows) sums of intensities with lo ≤ m/z ≤ hi, in file order (float64)."""
    ix = src.index
    out = np.zeros((ix.n_spectra, lo.size), dtype=np.float64)
    order = np.argsort(lo, kind="stable")
    slo = np.ascontiguousarray(np.asarray(lo, dtype=np.float64)[order])
    shi = np.ascontiguousarray(np.asarray(hi, dtype=np.float64)[order])
    length = np.minimum(ix.mz_length, ix.int_length)
    for sel, ms, is_, r_mz, r_int in _groups(src):
        part = np.zeros((sel.size, lo.size), dtype=np.float64)
        sum_windows(src.typed_view("mz", r_mz), ms, length[sel], src.typed_view("int", r_int), is_, slo, shi, part)
        out[np.ix_(sel, order)] = part
    return out


def sum_into_bins(src: ImzMLData, edges: np.ndarray) -> np.ndarray:
    """(n_spectra, n_bins) intensities summed into m/z bins ``edges[k] ≤ m/z < edges[k+1]``."""
    ix = src.index
    out = np.zeros((ix.n_spectra, edges.size - 1), dtype=np.float64)
    length = np.minimum(ix.mz_length, ix.int_length)
    e = np.ascontiguousarray(edges, dtype=np.float64)
    for sel, ms, is_, r_mz, r_int in _groups(src):
        part = np.zeros((sel.size, e.size - 1), dtype=np.float64)
        sum_bins(src.typed_view("mz", r_mz), ms, length[sel], src.typed_view("int", r_int), is_, e, part)
        out[sel] = part
    return out


__all__ = ["sum_into_bins", "window_sums"]
