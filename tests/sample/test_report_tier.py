"""Reports show the reliability tier at the top, before the key numbers."""

from __future__ import annotations

from ionscope.demo.runner import demo_reliability
from ionscope.reliability import assess
from ionscope.report.html import Report


def test_tier_is_the_first_thing_in_the_report():
    r = Report("t")
    r.set_reliability(assess({"preparation": "scalpel", "air_free_transfer": False}))
    r.section("s").text("x")
    r.key("width", 3.0, 0.1, "nm")
    html = r.to_html()
    assert html.index('id="reliability"') < html.index('id="summary"')
    assert "Reliability: tier D" in html and "doi:10.1039/D1TA04532F" in html


def test_report_outside_a_command_says_unknown():
    html = Report("t").to_html()
    assert "Reliability: tier unknown" in html and "no sample history" in html


def test_demo_is_unknown_and_lists_its_flags():
    rel = demo_reliability(["surface_transient"])
    assert rel["tier"] == "unknown" and rel["reasons"][0]["message"].startswith("simulated measurements")
    assert [r["code"] for r in rel["reasons"]] == ["no_history", "surface_transient"]


def test_every_rule_and_flag_is_documented():
    from pathlib import Path

    from ionscope.model.flags import FLAGS
    from ionscope.reliability import RULES

    doc = (Path(__file__).parents[2] / "docs" / "reliability-tiers.md").read_text(encoding="utf-8")
    missing = [c for c in [*RULES, *FLAGS] if f"`{c}`" not in doc]
    assert not missing, f"docs/reliability-tiers.md lacks {missing}: regenerate its tables"
