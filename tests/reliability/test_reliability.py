"""Reliability tiers: the rules, the flags, and one simulated study through the command line."""

from __future__ import annotations

import json

import pytest

from ionscope.model.flags import FLAGS, recording
from ionscope.model.result import Result
from ionscope.reliability import RULES, assess, combine
from ionscope.reliability.rules import tier_line

CRYO = {"name": "cell 7 cross-section", "material": "Li | Li6PS5Cl | NMC622", "preparation": "cryo-fib",
        "preparation_temperature_K": 123, "air_free_transfer": True, "holder": "vacuum transfer vessel",
        "air_exposure_s": 0, "measurement_mode": "ex-situ", "roi_rationale": "interface chosen on the SEM image"}
SCALPEL = {"name": "cell 7 scraped", "material": "Li | Li6PS5Cl | NMC622", "preparation": "scalpel",
           "air_free_transfer": False, "air_exposure_s": 300, "measurement_mode": "ex-situ", "sputter_ion": "Ar+"}


def _codes(a):
    return {r["code"] for r in a["reasons"]}


def test_every_rule_and_flag_cites_a_paper():
    for item in [*RULES.values(), *FLAGS.values()]:
        assert "doi:10." in item.reference and any(y in item.reference for y in ("2021", "2025", "2026"))


def test_missing_history_is_unknown_never_a():
    a = assess(None)
    assert a["tier"] == "unknown" and _codes(a) == {"no_history"}
    a = assess({"name": "no route recorded", "air_free_transfer": True})
    assert a["tier"] == "unknown" and "preparation_unknown" in _codes(a)


def test_cryo_fib_air_free_is_a_and_scalpel_in_air_is_d():
    good, bad = assess(CRYO), assess(SCALPEL)
    assert good["tier"] == "A" and {"cryo_preparation", "air_free_transfer"} <= _codes(good)
    assert bad["tier"] == "D"
    assert {"scalpel", "air_exposure", "not_air_free", "monatomic_sputtering"} <= _codes(bad)
    assert "preferential_sputtering" in bad["flags"]


@pytest.mark.parametrize("change, tier, code", [
    ({"preparation": "fib", "preparation_temperature_K": None}, "B", "room_temperature_fib"),
    ({"preparation": "fib", "preparation_temperature_K": 150}, "A", "cryo_preparation"),
    ({"preparation": "mechanical-cut"}, "C", "mechanical_cut"),
    ({"preparation": "manual-separation"}, "D", "manual_separation"),
    ({"preparation": "bib", "air_free_transfer": None}, "B", "transfer_unknown"),
    ({"holder_intact": False}, "D", "holder_broken"),
    ({"roi_rationale": None}, "B", "roi_unjustified"),
    ({"primary_ion": "Ga+"}, "C", "ga_primary_beam"),
    ({"primary_dose_ions_per_cm2": 1.2e14, "measurement_mode": "operando", "cell_pressure_MPa": 10},
     "C", "operando_li_migration"),
    ({"measurement_mode": "operando"}, "B", "pressure_unknown"),
])
def test_single_rules(change, tier, code):
    a = assess({**CRYO, **change})
    assert a["tier"] == tier and code in _codes(a)


def test_analysis_flags_cap_the_tier():
    a = assess(CRYO, flags=["static_limit_exceeded"])
    assert a["tier"] == "C" and "static_limit_exceeded" in _codes(a)
    a = assess(CRYO, flags=["surface_transient"])
    assert a["tier"] == "B"
    # without history a flag cannot make it known, but D is certain whatever the history
    assert assess(None, flags=["beam_induced_stratigraphy"])["tier"] == "unknown"
    assert assess(None, flags=["beam_induced_stratigraphy"])["at_best"] == "C"


def test_combine_takes_the_worst_and_d_is_certain():
    assert combine([assess(CRYO), assess({**CRYO, "preparation": "mechanical-cut"})])["tier"] == "C"
    assert combine([assess(CRYO), assess(None)])["tier"] == "unknown"
    assert combine([assess(SCALPEL), assess(None)])["tier"] == "D"


def test_results_validate_and_record_their_flags():
    with pytest.raises(ValueError, match="unknown artefact flag"):
        Result("x", {}, flags=("not_a_flag",))
    with recording() as rec:
        Result("depth.artefacts", {}, flags=("surface_transient",))
    assert rec.flags == ["surface_transient"]
    assert tier_line(assess(SCALPEL)).startswith("reliability: tier D — ")


def test_depth_artefact_check_sets_flags():
    from ionscope.depth.artefacts import check_artefacts
    from ionscope.synth.depth import layered_stack

    profile, _ = layered_stack(seed=5)
    profile = profile.copy()
    profile[0] = profile[0] * 5  # a surface transient in the first scan
    res = check_artefacts(profile)
    assert "surface_transient" in res.flags and res.flags == tuple(res["codes"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from ionscope.synth.depth import layered_stack

    from ..conftest import write_surfacelab_profile

    folder = tmp_path_factory.mktemp("study")
    return write_surfacelab_profile(layered_stack(seed=5)[0], folder / "stack.txt")


def test_same_profile_two_histories_two_tiers(cli, stack, tmp_path):
    """The check of the issue: one depth profile, a cryo-FIB air-free and a scalpel + air history."""
    import yaml

    tiers = {}
    for name, history in (("cryo", CRYO), ("scalpel", SCALPEL)):
        f = tmp_path / f"{name}.yaml"
        f.write_text(yaml.safe_dump(history))
        code, out, err = cli("depth", "layers", stack, "--json", "--sample", f)
        assert code == 0, err
        rel = json.loads(out)["reliability"]
        tiers[name] = rel
        assert rel["sample_sources"] == [str(f)] and rel["sample"]["name"] == history["name"]
        assert all(i["path"] != str(f) for i in json.loads(out)["inputs"])
    assert tiers["cryo"]["tier"] in ("A", "B") and tiers["scalpel"]["tier"] == "D"
    assert {"scalpel", "air_exposure"} <= _codes(tiers["scalpel"])
    code, out, _ = cli("depth", "layers", stack, "--sample", tmp_path / "scalpel.yaml")
    assert code == 0 and "reliability: tier D — scalpel" in out


def test_text_output_prints_unknown_without_history(cli, stack):
    code, out, _ = cli("depth", "layers", stack)
    assert code == 0 and "reliability: tier unknown — no sample history" in out


def test_init_hint_names_each_folder_of_a_few_and_the_first_of_many(tmp_path):
    from ionscope.reliability.rules import init_hint

    few = [str(tmp_path / d / "sample.yaml") for d in ("a", "b")]
    assert init_hint(few).count("ionscope sample init") == 2
    many = [str(tmp_path / f"{i:03d}" / "sample.yaml") for i in range(250)]
    hint = init_hint(many)
    assert hint.count("ionscope sample init") == 1 and "000" in hint and "250 folders" in hint


def test_a_history_missing_for_some_inputs_says_for_how_many():
    """One input with a history (that lacks the preparation route) and one without: the line says the history
    is missing for one of the two, not flatly that there is none."""
    from ionscope.reliability import assess, combine
    from ionscope.reliability.rules import tier_line

    with_history = assess({"sample_id": "s1"}, [], ["a/sample.yaml"], looked_up="a/sample.yaml")
    without = assess(None, [], [], looked_up="b/sample.yaml")
    line = tier_line(combine([with_history, without]))
    assert "no sample history for 1 of the 2 inputs" in line and "preparation route" in line
    assert "no sample history for" not in tier_line(combine([without, assess(None, [], [], looked_up="c/s.yaml")]))
