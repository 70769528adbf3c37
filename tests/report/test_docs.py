"""The documents a scientist expects: a Keep-a-Changelog changelog and a valid CITATION.cff."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in text and "Semantic Versioning" in text
    headings = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert headings[0] == "Unreleased" and all(re.fullmatch(r"\d+\.\d+\.\d+", h) for h in headings[1:])
    unreleased = text.split("## [Unreleased]")[1].split("\n## [")[0]
    assert {"### Added", "### Changed", "### Fixed"} <= set(re.findall(r"^### \w+", unreleased, flags=re.M))
    for h in headings:  # every heading has its link
        assert re.search(rf"^\[{re.escape(h)}\]: https://", text, flags=re.M)


def test_citation_cff_has_the_required_fields():
    """CFF 1.2.0 requires cff-version, message, title and authors; the version matches the package."""
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["message"] and cff["title"] and cff["authors"]
    assert all("name" in a or "family-names" in a for a in cff["authors"])
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.M).group(1)
    assert str(cff["version"]) == version


def test_readme_shows_the_example_figures():
    readme = (ROOT / "README.md").read_text()
    for name in ("spectrum_identify", "depth_layers", "operando", "microstructure"):
        assert f"examples/{name}.py" in readme
        assert f"docs/images/examples/{name}.png" in readme
        assert (ROOT / "docs" / "images" / "examples" / f"{name}.png").exists()
