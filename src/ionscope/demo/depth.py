"""Demo section: a simulated device stack → interfaces, layer thicknesses and the MRI fit vs truth."""

from __future__ import annotations

from typing import Any

import numpy as np

from ionscope.demo.runner import DemoContext
from ionscope.depth.artefacts import check_artefacts
from ionscope.depth.axes import to_depth
from ionscope.depth.interfaces import find_layers
from ionscope.depth.mri import fit_mri
from ionscope.depth.plots import profile_figure
from ionscope.model.provenance import make_provenance
from ionscope.model.result import Quantity
from ionscope.model.text import format_measurement
from ionscope.synth.depth import layered_cube, layered_stack

TITLE = "Depth profiles: interfaces and layers"

# The simulation puts these artefacts in on purpose; the checker's warnings are then the expected answer.
_EXPECTED = {
    "transient": "Expected: the simulation adds a surface transient to scan 0 (contamination before equilibrium "
                 "sputtering); the interface search ignores that scan.",
    "matrix": "Expected: the simulation changes the ionisation yield by 1.5× and 0.6× in two layers (matrix "
              "effect), so the total ion signal is not constant; the interfaces are located from each marker's own "
              "50 % points, and the table shows them at their true depths all the same.",
}


def _kind(message: str) -> str:
    return "transient" if "transient" in message else "matrix" if "matrix effect" in message else ""
ORDER = 30


def build(ctx: DemoContext) -> None:
    profile, truth = layered_stack(matrix_factors=(1.0, 1.5, 1.0, 0.6, 1.0), transient=3.0, seed=ctx.seed)
    ctx.save_input(profile, "depth_profile.zarr", "TOF-SIMS depth profile (scan, peak) of a five-layer stack",
                   "ionscope depth layers demo-output/data/depth_profile.zarr")
    ctx.save_input(layered_cube(seed=ctx.seed)[0], "depth_cube.zarr",
                   "3-D depth-profile cube (scan, y, x, peak) with a tilted interface",
                   "ionscope depth cube demo-output/data/depth_cube.zarr --interface Li2O-:falling --out maps.zarr")
    species = list(truth.truth["layer_of_species"])
    layers = find_layers(profile, species)
    rates = [Quantity(r, 0.03 * r, "nm/s") for r in truth.truth["rates_nm_s"]]
    prof_d = to_depth(profile, rates, interfaces_s=[i["position"] for i in layers["interfaces"]],
                      layer_species=species).profile
    t, z, uz = prof_d.sputter_time.values, prof_d.depth.values, prof_d.depth_uncertainty.values
    rows: list[dict[str, Any]] = []
    recovered: list[dict[str, Any]] = []
    for k, iface in enumerate(layers["interfaces"]):
        q = iface["position"]
        zk, uzk = float(np.interp(q.value, t, z)), float(np.interp(q.value, t, uz))
        dz = float(np.interp(q.value + q.uncertainty, t, z)) - zk
        u_tot = float(np.hypot(uzk, dz))
        true_t, true_z = float(truth.truth["interface_times_s"][k]), float(truth.truth["interfaces_nm"][k])
        rows.append({"interface": f"{iface['upper']} → {iface['lower']}", "true time (s)": true_t,
                     "found time (s)": format_measurement(q.value, q.uncertainty),
                     "width 16–84 % (s)": format_measurement(iface["width"].value, iface["width"].uncertainty),
                     "true depth (nm)": true_z, "found depth (nm)": format_measurement(zk, u_tot),
                     "z (depth)": round((zk - true_z) / u_tot, 1) + 0.0})
        recovered.append({"true_time_s": true_t, "time_s": q.value, "time_uncertainty_s": q.uncertainty,
                          "true_depth_nm": true_z, "depth_nm": zk, "depth_uncertainty_nm": u_tot})
    # MRI fit: one rate (1 nm/s) so that depth = rate × time; true w, σ, λ = 3, 4, 1.5 nm.
    mri_prof, mri_truth = layered_stack(thicknesses_nm=(30, 80, 200, 60), rates_nm_s=(1, 1, 1, 1, 1),
                                        mri_nm=(3.0, 4.0, 1.5), seed=ctx.seed + 1)
    lm = find_layers(mri_prof, species)
    depth_scan = mri_truth.truth["depth_nm"]
    guess = np.interp([i["position"].value for i in lm["interfaces"]], mri_prof.sputter_time.values, depth_scan)
    fit = fit_mri(depth_scan[1:], mri_prof.values[1:].T, [mri_truth.truth["layer_of_species"][s] for s in species],
                  n_layers=5, interfaces_guess=guess, labels=species)
    fit_rows = [{"parameter": f"thickness of {name}", "true (nm)": float(true),
                 "fitted (nm)": format_measurement(q.value, q.uncertainty)}
                for name, q, true in zip(species[1:4], fit["thicknesses"], mri_truth.truth["thicknesses_nm"][1:])]
    fit_rows += [{"parameter": n, "true (nm)": v, "fitted (nm)": format_measurement(fit[k].value, fit[k].uncertainty)}
                 for n, k, v in (("mixing w", "w", 3.0), ("roughness σ", "sigma", 4.0), ("information depth λ", "lam",
                                                                                     1.5))]
    flags = check_artefacts(profile)
    prov = make_provenance("ionscope.demo.depth", inputs=[truth.as_input(), mri_truth.as_input()],
                           parameters={"species": species}, parents=[layers.provenance, fit.provenance])
    ctx.report.record(prov)
    sec = ctx.report.section(TITLE)
    sec.text("A simulated perovskite-device stack (Au / spiro / perovskite / ITO / glass) is sputtered with a "
             "different rate in each layer, MRI broadening (w = 3, σ = 4, λ = 1.5 nm), a matrix-effect jump of "
             "the ionisation yield in two layers, a surface transient in scan 0 and Poisson counts. Interfaces are "
             "the 50 % points of the marker species on the sputter-time axis; depths follow from one declared "
             "rate per layer (3 % uncertainty), switched at the detected interfaces.")
    sec.figure(profile_figure(profile, species, log=True, layers=layers),
               "Simulated profile (log scale) with the detected interfaces (dashed, ±1σ shaded).")
    sec.table(rows, caption="Recovered vs true interfaces (time and depth)")
    sec.table(fit_rows, caption=f"MRI fit on a one-rate stack: reduced χ² = {fit['reduced_chi2']:.2f}")
    worst = max(rows, key=lambda r: abs(r["z (depth)"]))
    offset = float(np.mean([r["time_s"] - r["true_time_s"] for r in recovered]))
    u_time = float(np.mean([r["time_uncertainty_s"] for r in recovered]))
    early = (f" On the time axis the 50 % points lie {abs(offset):.1f} s {'before' if offset < 0 else 'after'} the "
             "true interfaces on average (statistical uncertainty of each: about "
             f"{u_time:.1f} s): " + (
                 "the information depth λ lets the next layer's signal appear before the beam reaches it, and "
                 "that systematic shift is what the MRI model describes." if offset < 0 else
                 "atomic mixing drags each layer's signal deeper, the systematic shift the MRI model describes.")
             if abs(offset) > u_time else "")
    sec.text(f"Every interface depth lies within {abs(worst['z (depth)']):.1f} combined standard "
             f"uncertainties of its true value (position on the time axis and the 3 % rate uncertainty).{early} "
             "The MRI fit recovers the "
             "three broadening lengths of the one-rate stack" + (
                 "; its reduced χ² within 1 + 3√(2/ν) says the model explains the profiles to counting precision."
                 if fit["reduced_chi2"] <= fit["chi2_red_limit"] else
                 f"; its reduced χ² of {fit['reduced_chi2']:.2f} says the model leaves structure unexplained."))
    for w in flags.warnings:
        sec.warning(w, _EXPECTED.get(_kind(w), ""))
    i0 = recovered[0]
    ctx.report.key(f"depth of the {layers['interfaces'][0]['upper']} → {layers['interfaces'][0]['lower']} interface",
                   i0["depth_nm"], i0["depth_uncertainty_nm"], "nm", truth=i0["true_depth_nm"])
    ctx.report.key("roughness σ (MRI fit)", fit["sigma"], truth=4.0)
    ctx.results["depth_profiles"] = {
        "interfaces": recovered,
        "mri_fit": {"thicknesses_nm": [q.to_dict() for q in fit["thicknesses"]],
                    "true_thicknesses_nm": mri_truth.truth["thicknesses_nm"][1:].tolist(),
                    "w": fit["w"].to_dict(), "sigma": fit["sigma"].to_dict(), "lam": fit["lam"].to_dict(),
                    "true_mri_nm": [3.0, 4.0, 1.5], "reduced_chi2": fit["reduced_chi2"]},
        "artefacts": flags["codes"], "provenance": prov}
