"""Operando image series: ion images per electrochemical state, aligned to the cycling log.

An operando series is a DataArray of kind ``operando`` with dims ``(state, y, x, peak)`` and the
acquisition window of every frame as coordinates along ``state``:

``time_start``, ``time_end`` (s)
    start and end of the frame's integration, on the clock of the cycling log (``time_s``);
``time`` (s)
    the window centre.

:func:`align_to_log` adds what the cell did during each window (integration windows are long,
1600 s in Xing et al. 2026, so window means and start/end values are given, never a single sample):
``voltage`` (V, window mean), ``voltage_start``/``voltage_end``, ``charge`` (µAh, net charge passed
at the window centre), ``charge_start``/``charge_end``, ``soc``/``soc_start``/``soc_end``, and
``cycle``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ionscope.model.arrays import coord
from ionscope.model.errors import ValidationError
from ionscope.model.operando import check_series, frame_windows
from ionscope.model.result import Result
from ionscope.operando.electrochem import check_log, cycle_capacities


def _window_mean(t: np.ndarray, f: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of the piecewise-linear f(t) over [a, b] (exact for the linear interpolant)."""
    cum = np.r_[0.0, np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(t))]

    def integral(x: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
        fx = np.interp(x, t, f)
        return cum[k] + 0.5 * (f[k] + fx) * (x - t[k])

    return (integral(b) - integral(a)) / (b - a)


def align_to_log(series: xr.DataArray, log: pd.DataFrame, *, soc_reference_Ah: float | None = None,
                 t0_s: float = 0.0) -> xr.DataArray:
    """Attach the electrochemical state of every frame (voltage, charge passed, SOC interval).

    Parameters
    ----------
    series
        Operando series with acquisition windows on the log's clock.
    log
        Canonical cycling log (:func:`ionscope.io.cycling.read_cycling`).
    soc_reference_Ah
        Capacity that defines SOC = 1 (default: first-cycle charge capacity).
    t0_s
        Log time at which the series clock reads 0 (when the two clocks differ).

    Raises
    ------
    ValidationError
        If any frame's window lies (partly) outside the log's time span; the frames are named.
    """
    series = check_series(series)
    check_log(log)
    start, end = frame_windows(series)
    start, end = start + t0_s, end + t0_s
    t = log["time_s"].to_numpy(dtype=float)
    outside = np.flatnonzero((start < t[0]) | (end > t[-1]))
    if outside.size:
        raise ValidationError(f"frame(s) {outside.tolist()} lie outside the cycling log's time span "
                              f"[{t[0]:.6g}, {t[-1]:.6g}] s (windows e.g. {start[outside[0]]:.6g}–"
                              f"{end[outside[0]]:.6g} s); wrong log, or clocks offset (t0_s)?")
    v = log["voltage_V"].to_numpy(dtype=float)
    q = log["capacity_Ah"].to_numpy(dtype=float)
    if soc_reference_Ah is None:
        soc_reference_Ah = float(cycle_capacities(log)["charge_Ah"].iloc[0])
    if not soc_reference_Ah > 0:
        raise ValidationError(f"SOC reference capacity must be positive, got {soc_reference_Ah} Ah")
    mid = 0.5 * (start + end)
    cycle = log["cycle"].to_numpy()[np.clip(np.searchsorted(t, mid, side="right") - 1, 0, t.size - 1)]
    new = {
        "voltage": coord("state", _window_mean(t, v, start, end), "V"),
        "voltage_start": coord("state", np.interp(start, t, v), "V"),
        "voltage_end": coord("state", np.interp(end, t, v), "V"),
        "charge": coord("state", np.interp(mid, t, q) * 1e6, "µAh"),
        "charge_start": coord("state", np.interp(start, t, q) * 1e6, "µAh"),
        "charge_end": coord("state", np.interp(end, t, q) * 1e6, "µAh"),
        "soc": coord("state", _window_mean(t, q, start, end) / soc_reference_Ah, "fraction"),
        "soc_start": coord("state", np.interp(start, t, q) / soc_reference_Ah, "fraction"),
        "soc_end": coord("state", np.interp(end, t, q) / soc_reference_Ah, "fraction"),
        "cycle": coord("state", cycle.astype(np.int64), "index"),
    }
    out = series.assign_coords(new)
    out.attrs = {**series.attrs, "soc_reference_Ah": float(soc_reference_Ah), "log_t0_s": float(t0_s)}
    return out


def key_states(series: xr.DataArray, cycle: int = 1) -> Result:
    """Indices of the pristine, charged and discharged frames of ``cycle``.

    Pristine is the first frame; charged the frame of highest window-mean SOC in the cycle;
    discharged the frame of lowest SOC after the charged one, within the cycle. Needs
    :func:`align_to_log` first.

    Returns
    -------
    Result
        ``operando.key_states``: frame indices ``pristine``, ``charged`` and ``discharged``.
    """
    if "soc" not in series.coords:
        raise ValidationError("align the series to the cycling log first (align_to_log)")
    soc = np.asarray(series.coords["soc"].values, dtype=float)
    cyc = np.asarray(series.coords["cycle"].values)
    idx = np.flatnonzero(cyc == cycle)
    if idx.size == 0:
        raise ValidationError(f"no frame was acquired during cycle {cycle}")
    charged = int(idx[np.argmax(soc[idx])])
    after = idx[idx > charged]
    if after.size == 0:
        raise ValidationError(f"no frame after the charged state of cycle {cycle}: cannot tell reversibility")
    discharged = int(after[np.argmin(soc[after])])
    return Result("operando.key_states", {"pristine": 0, "charged": charged, "discharged": discharged})
