import pytest

from ionscope.library import LibraryError, builtin_library, load_library, parse_formula, validate_library

# Every marker named by Sharma et al. 2025 (doi:10.1080/14686996.2025.2580917, sections 3–5) and quoted in the
# library header.
DOMAIN_MARKERS = ["^6Li+", "^7Li+", "Li2O+", "LiO+", "Li2F+", "^58Ni+", "^59Co+", "^55Mn+", "^48Ti+", "LiF2-",
                  "F-", "PO2-", "PO3-", "S-", "P-", "PS3-", "LiS-", "Cl-", "NiO2-", "MnO-", "C2H-", "OH-",
                  "AlF4-", "SO-", "SO2-", "SO3-"]
SEED_MARKERS = ["CH-", "C2H+", "C4H+", "LiOH2+", "C2F6NO4S2-", "TiF4-", "LiP+", "LiPO+", "Li2PO2+", "Br-", "Br3-",
                "Na+", "^7LiH+"]


def test_builtin_library_is_valid_and_complete():
    lib = builtin_library()
    assert lib.version >= 1
    have = {(str(parse_formula(m.ion)), m.polarity) for m in lib.markers}
    for ion in DOMAIN_MARKERS + SEED_MARKERS:
        f = parse_formula(ion)
        assert (str(f), f.polarity) in have, ion
    for m in lib.markers:
        assert m.parents and m.components
        assert (parse_formula(m.ion).charge > 0) == (m.polarity == "positive")


def test_interference_6lih_7li_needs_resolving_power_about_1000():
    lib = builtin_library()
    it = next(i for i in lib.interferences if set(i.ions) == {"^6LiH+", "^7Li+"})
    # Δm = m(6Li)+m(1H)−m(7Li) = 0.0069433 u at m/z 7.019 → m/Δm ≈ 1011
    assert it.required_resolving_power == pytest.approx(1011, rel=0.01)


def test_search():
    lib = builtin_library()
    assert any(m.ion == "LiF2-" for m in lib.search("LiF", polarity="negative"))
    hits = lib.search(mz=78.96, tolerance=0.01)  # PO3- 78.9591; Br- (78.9189) and CuO- (78.925) are outside
    assert [m.ion for m in hits] == ["PO3-"]
    assert all("SEI" in m.components for m in lib.search(component="SEI"))


BAD = """version: 1
name: bad
isotopes:
  Li: {6: -0.2, 7: 1.2}
markers:
  - {ion: "LiF2-", polarity: positive, parents: [LiF], component: [SEI]}
  - {ion: "Xx+", polarity: positive, parents: [X], component: [SEI]}
  - {ion: "Li2F(+", polarity: positive, parents: [LiF], component: [SEI]}
  - {ion: "Li+", polarity: positive, parents: [Li], component: [kitchen]}
  - {ion: "Li+", polarity: positive, parents: [Li], component: [SEI]}
  - {ion: "Li+", polarity: positive, parents: [Li], component: [SEI]}
interferences:
  - {ions: ["Li+", "Na+"]}
"""


def test_validate_reports_every_problem_with_its_line(tmp_path):
    path = tmp_path / "user.yaml"
    path.write_text(BAD)
    problems = validate_library(path)
    lines = {ln for ln, _ in problems}
    text = " | ".join(msg for _, msg in problems)
    assert 4 in lines and "negative abundance" in text
    assert 6 in lines and "contradicts the charge" in text
    assert 7 in lines and "Xx" in text
    assert 8 in lines
    assert 9 in lines and "kitchen" in text
    assert 11 in lines and "duplicate" in text
    assert 13 in lines and "nominal" in text
    with pytest.raises(LibraryError, match="problem"):
        load_library(path)


def test_invalid_yaml_and_user_extension(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("markers: [\n  {ion: 'Li+'\n")
    problems = validate_library(bad)
    assert problems and "YAML" in problems[0][1]
    good = tmp_path / "mine.yaml"
    good.write_text('version: 2\nname: mine\nmarkers:\n'
                    '  - {ion: "^6LiF2-", polarity: negative, parents: ["6LiF tracer"], component: [SEI]}\n')
    assert validate_library(good) == []
    lib = load_library(good)
    assert len(lib.markers) == len(builtin_library().markers) + 1
    assert [m.ion for m in lib.search("6LiF tracer")] == ["^6LiF2-"]
