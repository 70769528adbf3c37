"""Layer order and interface consistency on the real perovskite solar-cell profiles (Fransaert et al. 2026).

Physical order of a device, top to bottom: top electrode (Au for MAPI devices, Ag for FACSPI devices)
and hole transport (spiro-OMeTAD, C_26H_20N_2⁺ fragment) → perovskite (Pb⁺, PbI₃⁻, I⁻, Cs⁺, organic
cations) → transparent electrode (In⁺, InO₂⁻) → glass (Si⁺, SiO₂⁻). Stacks without "-dev" have no top
electrode. Scan 0 is a surface transient and weak species are noise: the analysis must cope with both.
"""

from __future__ import annotations

import numpy as np
import pytest

import ionscope
from ionscope.depth import compare_time_axes, find_layers, order_of_maxima

from ..conftest import shared_data

pytestmark = pytest.mark.realdata

#: Rank of each marker in the physical stack.
RANK = {"Au+": 0, "Au-": 0, "Ag+": 0, "Ag-": 0, "C_26H_20N_2+": 0,
        "Pb+": 1, "PbI_3-": 1, "I-": 1, "Cs+": 1, "CH_5N_2+": 1, "CH_3NH_3+": 1,
        "In+": 2, "InO_2-": 2, "Si+": 3, "SiO_2-": 3}

# 4f-3nA profiles on the electrodes sputter through the whole device into the glass.
FULL_DEPTH = {
    "MAPI-stack/I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt": ["Au+", "C_26H_20N_2+", "Pb+", "In+", "Si+"],
    "MAPI-stack/I241211i_C_MAPI-dev_4f-3nA_neg-B-electrode2.txt": ["Au-", "PbI_3-", "I-", "InO_2-", "SiO_2-"],
    "FACSPI-stack/I241209zk_D_FACSPI-dev_4f-3nA_pos-C-electrode1.txt":
        ["Ag+", "C_26H_20N_2+", "Pb+", "Cs+", "In+", "Si+"],
    "FACSPI-stack/I241209h_D_FACSPI-dev_4f-3nA_neg-D-electrode1.txt": ["Ag-", "PbI_3-", "I-", "InO_2-", "SiO_2-"],
}
# 1f profiles stop inside the ITO (In⁺ stays on its plateau to the last scan), so glass is not reached.
# Si⁺ there is a trace at the perovskite/ITO interface, not the glass layer: it is not a layer marker.
TO_ITO = {
    "MAPI-stack/I241209y_C_MAPI-dev_1f-1nA_pos-B3.txt": ["Au+", "C_26H_20N_2+", "Pb+", "In+"],
    "MAPI-stack/I241209zb_C_MAPI-dev_1f-1nA_neg-B3.txt": ["Au-", "PbI_3-", "I-", "InO_2-"],
    "FACSPI-stack/I241209zf_D_FACSPI-dev_1f-3nA_pos-C2.txt": ["Ag+", "C_26H_20N_2+", "Pb+", "Cs+", "In+"],
    "FACSPI-stack/I241209zi_D_FACSPI-dev_1f-3nA_neg-C2.txt": ["Ag-", "PbI_3-", "I-", "InO_2-"],
    "MAPI-stack/I241209m_A_MAPI_1f-1nA_pos-B4.txt": ["Pb+", "CH_3NH_3+", "In+"],
    "MAPI-stack/I241209p_A_MAPI_1f-1nA_neg-B4.txt": ["PbI_3-", "I-", "InO_2-"],
    "FACSPI-stack/I241209s_B_FACSPI_1f-1nA_pos-B4.txt": ["Pb+", "Cs+", "CH_5N_2+", "In+"],
    "FACSPI-stack/I241209v_B_FACSPI_1f-1nA_neg-B4.txt": ["PbI_3-", "I-", "InO_2-"],
}


def _ranks(result) -> list[int]:
    return [RANK[lay["dominant_species"]] for lay in result["layers"]]


@pytest.mark.parametrize("name", sorted(FULL_DEPTH))
def test_full_device_layers_are_in_physical_order(name):
    prof = ionscope.read(shared_data("iontof_depth_profiles", name))
    res = find_layers(prof, FULL_DEPTH[name], axis="fluence")
    ranks = _ranks(res)
    # Top electrode first, glass last, and never a step back up the stack in between.
    assert ranks[0] == 0 and ranks[-1] == 3, res["layers"]
    assert ranks == sorted(ranks), [lay["dominant_species"] for lay in res["layers"]]
    assert {1, 2} <= set(ranks)  # perovskite and ITO both found
    # Interfaces between different kinds of layer come in depth order (inside the perovskite, Cs⁺ and Pb⁺
    # of FACSPI are graded and may overlap: the analysis warns about that instead).
    pos = [i["position"].value for i in res["interfaces"] if RANK[i["upper"]] != RANK[i["lower"]]]
    assert pos == sorted(pos)


@pytest.mark.parametrize("name", sorted(TO_ITO))
def test_profiles_into_ito_are_in_physical_order(name):
    prof = ionscope.read(shared_data("iontof_depth_profiles", name))
    res = find_layers(prof, TO_ITO[name], axis="fluence")
    ranks = _ranks(res)
    assert ranks == sorted(ranks), [lay["dominant_species"] for lay in res["layers"]]
    assert ranks[-1] == 2 and 1 in ranks  # ends in the ITO, perovskite above it
    if "-dev" in name:
        # A device's perovskite is buried under the electrode/spiro: its first layer is not the ITO.
        assert ranks[0] in (0, 1)


def test_scan0_transient_is_not_a_maximum():
    # On the electrode the first scans sample the contaminated, unsputtered surface: the total ion yield of
    # scan 0 is ~200× that of the next scans, and many species have their raw maximum there.
    prof = ionscope.read(shared_data("iontof_depth_profiles", "MAPI-stack",
                                     "I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt"))
    raw_argmax = int(np.argmax(prof.sel(peak="Pb+").values))
    res = order_of_maxima(prof, ["Au+", "Pb+", "In+", "Si+"], axis="fluence")
    assert res["skipped_scans"] >= 2
    fl = prof.fluence.values
    for row in res["maxima"]:
        assert row["position"].value > fl[res["skipped_scans"] - 1]
    assert raw_argmax > 0  # Pb⁺ itself peaks in the perovskite…
    assert res["order"] == ["Au+", "Pb+", "In+", "Si+"]  # …and the maxima follow the stack


def test_weak_species_are_flagged_not_layers():
    # Ag⁺ in a MAPI device (Au electrode) is a trace of a few counts per scan: noise, not a layer.
    prof = ionscope.read(shared_data("iontof_depth_profiles", "MAPI-stack",
                                     "I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt"))
    res = find_layers(prof, ["Au+", "Ag+", "Pb+", "In+", "Si+"], axis="fluence")
    assert "Ag+" in res["weak_species"]
    assert all(lay["dominant_species"] != "Ag+" for lay in res["layers"])


@pytest.mark.parametrize("polarity, species", [("pos", ["Pb+", "In+"]), ("neg", ["PbI_3-", "InO_2-"])])
def test_frames_versus_seconds_agree_on_fluence(polarity, species):
    # Same MAPI stack exported at 0.25 s, 0.5 s and 1 frame (1.4666 s) per point. The fluence per second
    # differs between the modes (~12 %), so sputter-time positions disagree while fluence positions agree.
    names = {"025s": f"I231114{'p' if polarity == 'neg' else 'zb'}_A_MAPI_025s-LC_{polarity}-8.txt",
             "05s": f"I231114{'q' if polarity == 'neg' else 'zc'}_A_MAPI_05s-LC_{polarity}-9.txt",
             "1f": f"I231114{'t' if polarity == 'neg' else 'zf'}_A_MAPI_1f-LC_{polarity}-12.txt"}
    profs = {k: ionscope.read(shared_data("iontof_depth_profiles", "frames-versus-seconds", v))
             for k, v in names.items()}
    on_fluence, on_time = {}, {}
    for k, p in profs.items():
        for axis, store in (("fluence", on_fluence), ("sputter_time", on_time)):
            res = find_layers(p, species, axis=axis)
            (iface,) = [i for i in res["interfaces"] if i["upper"] == species[0] and i["lower"] == species[1]]
            store[k] = iface["position"]
    for a, b in (("025s", "1f"), ("05s", "1f"), ("025s", "05s")):
        qa, qb = on_fluence[a], on_fluence[b]
        # Consistent within 3 combined standard uncertainties (the 1f export samples every 1.47 s, so its
        # position carries the larger step uncertainty) and within 8 % of each other.
        assert abs(qa.value - qb.value) <= 3 * np.hypot(qa.uncertainty, qb.uncertainty)
        assert abs(qa.value - qb.value) / qb.value < 0.08
    t_diff = abs(on_time["025s"].value - on_time["1f"].value) / on_time["1f"].value
    f_diff = abs(on_fluence["025s"].value - on_fluence["1f"].value) / on_fluence["1f"].value
    assert t_diff > f_diff + 0.05  # the time axis is the misleading one
    check = compare_time_axes(profs["025s"], profs["1f"])
    assert not check["comparable_on_time"] and check.warnings
