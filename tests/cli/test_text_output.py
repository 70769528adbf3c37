"""Text (non-JSON) output: every ``value ± σ`` rounded by the one formatter, units written, no raw floats.

The rule (:func:`ionscope.model.text.format_measurement`, Particle Data Group rounding, Workman et al.
2022, doi:10.1093/ptep/ptac097, within JCGM 100:2008 §7.2.6's "at most two significant digits"): the
uncertainty keeps one or two significant digits and the value is rounded to the same decimal place.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tifffile

from ..conftest import shared_data

#: ``value ± σ``, the value possibly negative; the numbers as printed.
_PAIR = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?) ± (\d+(?:\.\d+)?)(?![\d.])")
#: A float printed with its full binary precision (0.8500000000000002, 0.4318339029947917).
_RAW = re.compile(r"\d\.\d{7,}")


def _decimals(text: str) -> int:
    return len(text.partition(".")[2])


def _significant(text: str) -> int:
    digits = text.replace(".", "").lstrip("0")
    return len(digits if "." in text else digits.rstrip("0") or "0")


def assert_rounded(text: str) -> int:
    """Every pair in ``text`` follows the rule; no raw float and no Python dict is printed. Returns the pairs."""
    assert not _RAW.search(text), _RAW.search(text)
    assert "{'" not in text, text
    pairs = _PAIR.findall(text)
    for value, sigma in pairs:
        assert _significant(sigma) <= 2, (value, sigma)
        assert _decimals(value) == _decimals(sigma), (value, sigma)
    return len(pairs)


def test_the_checker_catches_what_the_user_reported():
    for bad in ("effective (0.0854 ± 0.0005847)", "ε = 0.4499 ± 0.00097", "(1391 ± 6.627) s",
                "max_drift_um: 0.8500000000000002", "input: {'path': 'x'}"):
        with pytest.raises(AssertionError):
            assert_rounded(bad)
    assert assert_rounded("0.0854 ± 0.0006, 1391 ± 7 s, 12400 ± 2600 counts, -0.00420 ± 0.00030") == 4


def test_micro_transport_lines(capsys):
    """Solver errors of 0.68 %: 585 → one digit, 300 → two (PDG rule); relative values say so."""
    from ionscope.cli.micro import _print_transport
    from ionscope.model.result import Quantity as Q

    values = {"x": {"effective": Q(0.0854, 0.0005847, "1"), "tortuosity": Q(4.386, 0.03002, "1"),
                    "macmullin": Q(11.71, 0.08014, "1")},
              "y": {"effective": None, "reason": "does not percolate"},
              "z": {"effective": Q(0.1053, 0.0005411, "S/m")},
              "electrode_tortuosity": Q(4.024, 0.02942, "1")}
    _print_transport(values, ["x", "y", "z"], "z")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("x: effective 0.0854 ± 0.0006 (relative to the intrinsic coefficients: no --unit given), "
                      "τ = 4.386 ± 0.030, MacMullin = 11.71 ± 0.08")
    assert out[1] == "y: — (does not percolate)"
    assert out[2] == "z: effective 0.1053 ± 0.0005 S/m"
    assert out[3] == "electrode tortuosity factor (z): 4.024 ± 0.029"


def _labels(tmp_path):
    from ionscope.synth.fibsem import three_phase_electrode

    _, truth = three_phase_electrode((16, 24, 24), seed=4)
    path = tmp_path / "labels.tif"
    tifffile.imwrite(path, (truth.truth["labels"] * 85).astype(np.uint8))
    return path


def test_micro_metrics_text(cli, tmp_path):
    path = _labels(tmp_path)
    args = ("micro", "metrics", path, "--phases", "pore=0,nmc=85,cbd=170", "--spacing", "0.39um",
            "--only", "fractions,surfaces,tpb")
    code, out, err = cli(*args)
    assert code == 0, err
    assert assert_rounded(out) >= 6  # ε and SSA of three phases
    lines = [line for line in out.splitlines() if "ε =" in line]
    assert len(lines) == 3 and all("µm⁻¹ (marching cubes; face count" in line for line in lines)
    assert all(re.search(r"face count \S+ µm⁻¹\)", line) for line in lines)
    assert re.search(r"TPB density \S+ µm⁻²", out)
    code, doc, _ = cli(*args, "--json")
    eps = json.loads(doc)["results"]["phases"]["pore"]["volume_fraction"]
    shown, sigma = _PAIR.search(lines[0]).groups()
    assert abs(float(shown) - eps["value"]) <= 0.5 * 10 ** -_decimals(shown)
    assert abs(float(sigma) - eps["uncertainty"]) <= 0.5 * 10 ** -_decimals(sigma) + 1e-12


@pytest.mark.slow
def test_tomo_summaries(cli, tmp_path):
    from ionscope.synth.fibsem import image_stack, three_phase_electrode

    vol, _ = three_phase_electrode((8, 40, 40), seed=8)
    stack, _ = image_stack(vol.values, seed=9)
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, stack.values.astype(np.float32))
    code, out, err = cli("tomo", "align", src, "--out", tmp_path / "a.zarr", "--pixel-size", "100nm")
    assert code == 0, err
    assert_rounded(out)
    assert re.search(r"aligned 8 slices \(phase correlation, resolution 1/20 px\): largest drift \S+ µm, "
                     r"largest rotation \S+ deg", out), out
    assert f"wrote {tmp_path / 'a.zarr'}" in out
    code, out, err = cli("tomo", "align", src, "--out", tmp_path / "r.zarr", "--pixel-size", "100nm",
                         "--transform", "rigid")
    assert code == 0, err
    assert assert_rounded(out) == 2 and re.search(r"largest drift \S+ ± \S+ µm, largest rotation \S+ ± \S+ deg", out)
    code, out, err = cli("tomo", "destripe", tmp_path / "a.zarr", "--out", tmp_path / "d.zarr")
    assert code == 0, err
    assert_rounded(out)
    assert "removed curtaining stripes from 8 slices of a.zarr" in out and f"wrote {tmp_path / 'd.zarr'}" in out
    args = ("tomo", "segment", tmp_path / "d.zarr", "--out", tmp_path / "s.zarr", "--phases", "pore,cbd,nmc")
    code, out, err = cli(*args)
    assert code == 0, err
    assert_rounded(out)
    shown = dict(re.findall(r"(\w+) \(label \d\) (\d\.\d+)", out))
    code, doc, _ = cli(*args, "--force", "--json")
    fractions = json.loads(doc)["results"]["volume_fraction"]
    assert set(shown) == {"pore", "cbd", "nmc"}
    for name, text in shown.items():  # three significant digits of a fraction without uncertainty
        assert float(text) == pytest.approx(fractions[name]["value"], abs=0.5 * 10 ** -_decimals(text))


def test_depth_mri_text(cli, tmp_path):
    import ionscope
    from ionscope.synth.depth import layered_stack

    prof, _ = layered_stack(thicknesses_nm=(60.0, 120.0), rates_nm_s=(1, 1, 1), species={"A+": 0, "B+": 1, "C+": 2},
                            mri_nm=(3.0, 4.0, 1.5), seed=3)
    src = ionscope.save(prof, tmp_path / "p.zarr")
    code, out, err = cli("depth", "mri", src, "--species", "A+,B+,C+")
    assert code == 0, err
    assert assert_rounded(out) >= 5 + 9  # w, σ, λ, two interfaces; 3 × 3 fractions
    for label in ("mixing length w", "roughness σ", "information depth λ", "interface 1", "interface 2"):
        line = next(line for line in out.splitlines() if line.strip().startswith(label))
        assert line.rstrip().endswith(" s"), line
    rows = [line for line in out.splitlines() if line.split()[:1] in (["A⁺"], ["B⁺"], ["C⁺"])]
    assert len(rows) == 3 and all(line.count("±") == 3 and line.count("%") == 3 for line in rows), rows
    assert "A+" not in out and out.count("sums to 100 % by construction") == 1


def test_image_extract_counts_per_pixel(cli, tmp_path):
    import ionscope
    from ionscope.synth import composite_cross_section

    src = ionscope.save(composite_cross_section(shape=(16, 16), seed=0)[0], tmp_path / "image.zarr")
    code, out, err = cli("image", "extract", src, "--peaks", "7.016", "--tolerance", "0.2")
    assert code == 0, err
    assert assert_rounded(out) == 2
    assert re.search(r"total \S+ ± \S+ counts, max \S+ ± \S+ counts per pixel$", out.splitlines()[0]), out


def test_pca_rank_message_counts_the_samples_used():
    from ionscope.model.errors import ValidationError
    from ionscope.mva.preprocess import check_components

    with pytest.raises(ValidationError, match=r"rank is at most 5 \(16384 samples × 5 peaks\)$"):
        check_components(40, 16384, 5, centred=True)
    with pytest.raises(ValidationError, match=r"at most 3 \(4 samples × 20 peaks; centring takes one"):
        check_components(4, 4, 20, centred=True)
    check_components(4, 5, 20, centred=True)


def test_spectrum_identify_batch_explains_the_columns_once(cli):
    files = [shared_data("iontof_spectra", name) for name in ("N_Ru_Bi1_1.txt", "N_Ru-Pt_Bi1_1.txt")]
    code, out, err = cli("spectrum", "identify", *files, "--elements", "Ru,Pt")
    assert code == 0, err
    assert out.count("z: a form's fitted intensity over its 1σ") == 1
    assert out.index("z: a form's fitted intensity") > out.index("N_Ru-Pt_Bi1_1.txt")
