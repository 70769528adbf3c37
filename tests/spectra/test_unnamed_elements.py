"""Named mode fits the other elements the auto screening finds, so a named element's result does not
depend on which others are named (synthetic spectrum with known counts: Ru⁺ 7·10⁴, Pd⁺ 3·10⁴, Pt⁺ 4·10³)."""

import pytest

from ionscope.spectra.elements import identify_elements

from .test_binning import _spectrum


def _ru(elements, **options):
    res = identify_elements(_spectrum(4000.0, 200), polarity="positive", elements=elements, **options)
    return res, next(f for f in res if f.formula == "Ru+")


def test_a_named_elements_intensity_does_not_depend_on_the_others_named():
    alone, ru_alone = _ru(["Ru"])
    assert alone.background == ("Pd", "Pt") and set(alone.present().keys()) == {"Ru"}  # fitted, not reported
    for others in (["Pd"], ["Pd", "Pt"]):
        res, ru = _ru(["Ru", *others])
        assert ru.intensity == pytest.approx(ru_alone.intensity, rel=1e-6)
        assert set(res.background) == {"Pd", "Pt"} - set(others)
    assert abs(ru_alone.intensity - 7e4) < 3 * ru_alone.uncertainty


def test_without_the_screening_the_unnamed_pattern_is_credited_to_the_named_one():
    # ¹⁰²Pd⁺ and ¹⁰⁴Pd⁺ lie on ¹⁰²Ru⁺ and ¹⁰⁴Ru⁺: left out of the model, they raise Ru⁺, and the misfit of
    # Pd's other masses inflates its σ
    _, screened = _ru(["Ru"])
    blind, ru = _ru(["Ru"], screen_unnamed=False)
    assert blind.background == ()
    assert ru.intensity > screened.intensity + 3 * screened.uncertainty
    assert ru.uncertainty > 5 * screened.uncertainty
