"""Electrochemistry bookkeeping of a cycling log: capacities, Coulombic efficiency, SOC, CC/CV segments.

Charge and discharge capacities are integrals of the positive and negative parts of the current,

    Q_ch = ∫ max(I, 0) dt,   Q_dis = ∫ max(−I, 0) dt,

with the current linear between samples (trapezoid rule; an interval whose current changes sign is
split at the zero crossing so no charge is attributed to the wrong half cycle). Coulombic
efficiency is ``Q_dis/Q_ch`` and the irreversible fraction ``(Q_ch − Q_dis)/Q_ch`` (Xing et al. 2026: 29 µAh
charge, 25 µAh discharge → 14 %). The uncertainty given for each capacity is the integration-rule
error bound ``Σ |I_{k+1} − I_k| Δt_k / 2`` (the trapezoid error of a current that is monotone
between samples cannot exceed it): a conservative bound from the sampling, not a standard
deviation; instrument calibration errors are not included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity, Result

REQUIRED = ("time_s", "voltage_V", "current_A", "capacity_Ah", "cycle", "step")
#: A row is CC when |I| is within this fraction of the segment's constant current.
CC_TOLERANCE = 0.02
#: A non-CC block is CV when its voltage stays within this many volts.
CV_TOLERANCE_V = 0.005
#: |I| below this fraction of max |I| is rest.
REST_FRACTION = 1e-3


def check_log(log: pd.DataFrame) -> pd.DataFrame:
    """Raise :class:`ValidationError` unless ``log`` is a canonical cycling log (see :mod:`ionscope.io.cycling`)."""
    if not isinstance(log, pd.DataFrame):
        raise ValidationError(f"a cycling log must be a pandas DataFrame, got {type(log).__name__}")
    missing = [c for c in REQUIRED if c not in log.columns]
    if missing:
        raise ValidationError(f"cycling log lacks column(s) {missing}; read it with ionscope.io.cycling.read_cycling")
    t = log["time_s"].to_numpy(dtype=float)
    if t.size < 2 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
        raise ValidationError("cycling log time must be finite and strictly increasing with at least two rows")
    return log


def _part_integrals(t: np.ndarray, i: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-interval integral (A·s) of max(sign·I, 0) by trapezoid, and the interval's error bound."""
    a, b = sign * i[:-1], sign * i[1:]
    dt = np.diff(t)
    both = (a >= 0) & (b >= 0)
    trap = np.where(both, 0.5 * (a + b) * dt, 0.0)
    cross = (a > 0) & (b < 0) | (a < 0) & (b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(cross, a / (a - b), 0.0)
    trap = trap + np.where(cross & (a > 0), 0.5 * a * f * dt, 0.0)
    trap = trap + np.where(cross & (b > 0), 0.5 * b * (1 - f) * dt, 0.0)
    return trap, 0.5 * np.abs(np.maximum(a, 0) - np.maximum(b, 0)) * dt


def cycle_capacities(log: pd.DataFrame, *, area_cm2: float | None = None) -> pd.DataFrame:
    """Charge and discharge capacity of every cycle.

    Parameters
    ----------
    log
        Canonical cycling log.
    area_cm2
        Electrode area; adds areal capacities (mAh cm⁻²).

    Returns
    -------
    DataFrame
        One row per cycle: ``cycle, charge_Ah, discharge_Ah, charge_sigma_Ah, discharge_sigma_Ah,
        coulombic_efficiency, irreversible_fraction, irreversible_Ah`` (+ ``charge_mAh_cm2``,
        ``discharge_mAh_cm2`` with an area). Charge passed in an interval belongs to the cycle of
        the row that is charging (discharging), so a rest row before a new cycle takes none of it.
    """
    check_log(log)
    t = log["time_s"].to_numpy(dtype=float)
    cur = log["current_A"].to_numpy(dtype=float)
    cycles = log["cycle"].to_numpy()
    rows = []
    parts = {s: _part_integrals(t, cur, s) for s in (1.0, -1.0)}
    # charge (discharge) in an interval belongs to the cycle of the row that is charging (discharging)
    owner = {s: np.where(s * cur[:-1] > 0, cycles[:-1], cycles[1:]) for s in (1.0, -1.0)}
    for c in np.unique(cycles):
        row: dict[str, Any] = {"cycle": int(c)}
        for name, s in (("charge", 1.0), ("discharge", -1.0)):
            sel = owner[s] == c
            trap, bound = (p[sel].sum() / 3600.0 for p in parts[s])
            row[f"{name}_Ah"] = trap
            row[f"{name}_sigma_Ah"] = bound
        q_ch, q_dis = row["charge_Ah"], row["discharge_Ah"]
        row["coulombic_efficiency"] = q_dis / q_ch if q_ch > 0 else np.nan
        row["irreversible_Ah"] = q_ch - q_dis
        row["irreversible_fraction"] = (q_ch - q_dis) / q_ch if q_ch > 0 else np.nan
        if area_cm2 is not None:
            if not area_cm2 > 0:
                raise ValidationError(f"electrode area must be positive, got {area_cm2} cm²")
            row["charge_mAh_cm2"] = q_ch * 1e3 / area_cm2
            row["discharge_mAh_cm2"] = q_dis * 1e3 / area_cm2
        rows.append(row)
    return pd.DataFrame(rows)


def efficiency_uncertainty(q_ch: float, s_ch: float, q_dis: float, s_dis: float) -> float:
    """1σ of ``Q_dis/Q_ch`` (and of ``1 − Q_dis/Q_ch``) by first-order propagation."""
    if q_ch <= 0:
        return float("nan")
    return float(np.hypot(s_dis / q_ch, q_dis * s_ch / q_ch**2))


def state_of_charge(log: pd.DataFrame, reference_Ah: float | None = None) -> np.ndarray:
    """State of charge of the cell at every row: net charge passed ÷ ``reference_Ah``.

    The default reference is the first cycle's charge capacity, so SOC runs 0 → 1 over the first
    charge and ends the first discharge at the irreversible fraction.
    """
    check_log(log)
    if reference_Ah is None:
        reference_Ah = float(cycle_capacities(log)["charge_Ah"].iloc[0])
    if not reference_Ah > 0:
        raise ValidationError(f"SOC reference capacity must be positive, got {reference_Ah} Ah")
    return log["capacity_Ah"].to_numpy(dtype=float) / reference_Ah


def _block_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def segments(log: pd.DataFrame, *, cc_tolerance: float = CC_TOLERANCE,
             cv_tolerance_V: float = CV_TOLERANCE_V, rest_fraction: float = REST_FRACTION) -> pd.DataFrame:
    """Split a log into rest, constant-current (CC) and constant-voltage (CV) segments.

    Within every run of one current sign, the CC current is the 95th percentile of ``|I|``; rows
    within ``cc_tolerance`` of it are CC; the other blocks are CV when their voltage stays within
    ``cv_tolerance_V``, else ``variable``.

    Returns
    -------
    DataFrame
        ``kind`` (``rest``, ``CC``, ``CV``, ``variable``), ``direction`` (``charge``, ``discharge``,
        ``rest``), ``cycle``, ``start_s``, ``end_s``, ``duration_s``, ``charge_Ah`` (net ∫ I dt),
        ``mean_current_A``, ``voltage_start_V``, ``voltage_end_V``, ``first_row``, ``last_row``.
    """
    check_log(log)
    t = log["time_s"].to_numpy(dtype=float)
    cur = log["current_A"].to_numpy(dtype=float)
    v = log["voltage_V"].to_numpy(dtype=float)
    q = log["capacity_Ah"].to_numpy(dtype=float)
    cyc = log["cycle"].to_numpy()
    tol = rest_fraction * np.max(np.abs(cur))
    sign = np.where(cur > tol, 1, np.where(cur < -tol, -1, 0))
    kind = np.empty(cur.size, dtype=object)
    change = np.flatnonzero(np.r_[True, sign[1:] != sign[:-1]])
    for s0, s1 in zip(change, np.r_[change[1:], cur.size]):
        if sign[s0] == 0:
            kind[s0:s1] = "rest"
            continue
        mag = np.abs(cur[s0:s1])
        i_cc = np.percentile(mag, 95)
        is_cc = np.abs(mag - i_cc) <= cc_tolerance * i_cc
        kind[s0:s1] = np.where(is_cc, "CC", "other")
        for b0, b1 in _block_runs(~is_cc):
            vv = v[s0 + b0:s0 + b1]
            kind[s0 + b0:s0 + b1] = "CV" if np.ptp(vv) <= cv_tolerance_V else "variable"
    label = np.array([f"{k}{s}" for k, s in zip(kind, sign)])
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    stops = np.r_[starts[1:], cur.size]
    rows = []
    for a, b in zip(starts, stops):
        last = min(b, cur.size - 1)  # segment ends where the next begins
        rows.append({
            "kind": kind[a], "direction": {1: "charge", -1: "discharge", 0: "rest"}[int(sign[a])],
            "cycle": int(cyc[a]), "start_s": t[a], "end_s": t[last], "duration_s": t[last] - t[a],
            "charge_Ah": q[last] - q[a], "mean_current_A": (q[last] - q[a]) * 3600 / max(t[last] - t[a], 1e-300),
            "voltage_start_V": v[a], "voltage_end_V": v[last], "first_row": int(a), "last_row": int(b - 1),
        })
    return pd.DataFrame(rows)


def capacity_summary(log: pd.DataFrame, *, area_cm2: float | None = None,
                     nominal_capacity_Ah: float | None = None) -> Result:
    """Per-cycle capacities (µAh), Coulombic efficiency and irreversible fraction as a :class:`Result`.

    ``values["cycles"]`` is a list of dicts with ``cycle``, ``charge_uAh``, ``discharge_uAh``,
    ``coulombic_efficiency``, ``irreversible_fraction`` (each a :class:`Quantity`), and areal values
    when ``area_cm2`` is given. With ``nominal_capacity_Ah`` the CC current is also given as a C-rate.
    """
    caps = cycle_capacities(log, area_cm2=area_cm2)
    warnings: list[str] = []
    cycles = []
    for _, r in caps.iterrows():
        s_eff = efficiency_uncertainty(r.charge_Ah, r.charge_sigma_Ah, r.discharge_Ah, r.discharge_sigma_Ah)
        entry: dict[str, Any] = {
            "cycle": int(r.cycle),
            "charge_uAh": Quantity(r.charge_Ah * 1e6, r.charge_sigma_Ah * 1e6, "µAh"),
            "discharge_uAh": Quantity(r.discharge_Ah * 1e6, r.discharge_sigma_Ah * 1e6, "µAh"),
            "coulombic_efficiency": Quantity(r.coulombic_efficiency, s_eff, "fraction"),
            "irreversible_fraction": Quantity(r.irreversible_fraction, s_eff, "fraction"),
        }
        if area_cm2 is not None:
            entry["charge_mAh_cm2"] = Quantity(r.charge_mAh_cm2, r.charge_sigma_Ah * 1e3 / area_cm2, "mAh/cm^2")
            entry["discharge_mAh_cm2"] = Quantity(r.discharge_mAh_cm2, r.discharge_sigma_Ah * 1e3 / area_cm2,
                                                  "mAh/cm^2")
        if r.discharge_Ah == 0:
            warnings.append(f"cycle {int(r.cycle)} has no discharge (log ends during charge?)")
        cycles.append(entry)
    seg = segments(log)
    cc = seg[seg.kind == "CC"]
    values: dict[str, Any] = {"cycles": cycles, "n_cycles": len(cycles),
                              "duration_h": float(log["time_s"].iloc[-1] / 3600),
                              "segments": seg[["kind", "direction", "cycle", "start_s", "end_s", "charge_Ah"]]
                              .to_dict("records")}
    if len(cc):
        i_cc = float(np.median(np.abs(cc["mean_current_A"])))
        values["cc_current_uA"] = i_cc * 1e6
        if area_cm2 is not None:
            values["cc_current_density_mA_cm2"] = i_cc * 1e3 / area_cm2
        if nominal_capacity_Ah:
            values["c_rate"] = i_cc / nominal_capacity_Ah
    prov = make_provenance("ionscope.operando.capacity_summary",
                           parameters={"area_cm2": area_cm2, "nominal_capacity_Ah": nominal_capacity_Ah,
                                       "log": log.attrs.get("path") or log.attrs.get("source")})
    return Result("operando.capacity", values, warnings=tuple(warnings), provenance=prov)
