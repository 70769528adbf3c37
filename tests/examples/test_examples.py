"""Every script in examples/ runs, prints its numbers and writes its figure (on simulated and real data)."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

from ..conftest import shared_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str, data: str, out: Path, monkeypatch, capsys) -> str:
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), data, str(out)])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    png = out / name.replace(".py", ".png")
    assert png.exists() and png.stat().st_size > 2000
    return capsys.readouterr().out


@pytest.mark.slow
def test_spectrum_identify_simulated(tmp_path, monkeypatch, capsys):
    out = _run("spectrum_identify.py", "-", tmp_path, monkeypatch, capsys)
    assert "Ru⁺" in out and "Pt⁺" in out and "present" in out


def test_depth_layers_simulated(tmp_path, monkeypatch, capsys):
    out = _run("depth_layers.py", "-", tmp_path, monkeypatch, capsys)
    assert "marker species: Au⁻" in out and out.count("→") == 4
    # every interface within 2σ of the truth (the 1σ includes the MRI shift of the 50 % point)
    for q, u, t in re.findall(r": ([\d.]+) ± ([\d.]+) s  \(true ([\d.]+) s\)", out):
        assert abs(float(q) - float(t)) <= 2 * float(u), (q, u, t)
    assert len(re.findall(r"\(true ", out)) == 4


@pytest.mark.slow
def test_operando_simulated(tmp_path, monkeypatch, capsys):
    out = _run("operando.py", "-", tmp_path, monkeypatch, capsys)
    assert "cycle 1: charge 29 µAh" in out and "classified as simulated" in out


@pytest.mark.slow
def test_microstructure_simulated(tmp_path, monkeypatch, capsys):
    out = _run("microstructure.py", "-", tmp_path, monkeypatch, capsys)
    assert "volume fraction" in out and "tortuosity" in out
    assert "Quantity(" not in out and "{" not in out and ") 1" not in out


@pytest.mark.realdata
def test_spectrum_identify_real(tmp_path, monkeypatch, capsys):
    path = shared_data("iontof_spectra", "P_Ru-Pt_Bi1_1.txt")
    out = _run("spectrum_identify.py", str(path), tmp_path, monkeypatch, capsys)
    assert "Ru⁺" in out and "present" in out


@pytest.mark.realdata
def test_depth_layers_real(tmp_path, monkeypatch, capsys):
    path = shared_data("iontof_depth_profiles", "MAPI-stack", "I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt")
    out = _run("depth_layers.py", str(path), tmp_path, monkeypatch, capsys)
    assert "marker species:" in out and "→" in out


@pytest.mark.realdata
def test_spectrum_identify_negative_real(tmp_path, monkeypatch, capsys):
    """A negative-polarity export is identified as negative ions (polarity from its N_ name/metadata)."""
    path = shared_data("iontof_spectra", "N_Ru-Pt_Bi1_1.txt")
    out = _run("spectrum_identify.py", str(path), tmp_path, monkeypatch, capsys)
    assert "negative ions" in out and "⁺" not in out
    # the numbers of `ionscope spectrum identify` (same pipeline, same defaults)
    from ionscope.model.text import format_measurement, pretty_ion
    from ionscope.spectra.pipeline import identify_file

    species = identify_file(path)["species"]
    assert species
    for s in species:
        q = s["intensity"]
        assert f"{pretty_ion(s['formula'])}: {format_measurement(q.value, q.uncertainty, 'counts')}" in out


def test_default_figure_folder_is_in_the_current_directory(tmp_path, monkeypatch):
    """Without a second argument, figures go to ./example-figures/, not into the tracked docs/images/."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["x.py", "-"])
    common = runpy.run_path(str(EXAMPLES / "_common.py"))
    assert common["figure_dir"]().resolve() == (tmp_path / "example-figures").resolve()


def test_make_example_figures_writes_the_readme_figures():
    makefile = (EXAMPLES.parent / "Makefile").read_text()
    assert "example-figures:" in makefile and "docs/images/examples" in makefile
    assert "example-figures/" in (EXAMPLES.parent / ".gitignore").read_text().splitlines()


@pytest.mark.slow
@pytest.mark.realdata
def test_microstructure_real_states_what_it_analyses(tmp_path, monkeypatch, capsys):
    """Fractions of the whole file (not of a silent corner); the tortuosity sub-volume is named."""
    import numpy as np
    import tifffile

    path = shared_data("microstructure", "nmc_electrode_3phase_256.tiff")
    out = _run("microstructure.py", str(path), tmp_path, monkeypatch, capsys)
    labels = tifffile.imread(path)
    shape = " × ".join(map(str, labels.shape))
    assert f"volume fractions of the whole {shape} volume" in out
    for name, value in (("pore", 0), ("nmc", 85), ("cbd", 170)):
        frac = float(np.mean(labels == value))
        (line,) = [ln for ln in out.splitlines() if ln.strip().startswith(f"{name}: volume fraction")]
        assert abs(float(line.split("fraction ")[1].split(" ")[0]) - frac) < 1e-3, (line, frac)
    assert "tortuosity solved on the central 64 × 64 × 64 voxels" in out


@pytest.mark.realdata
def test_microstructure_names_the_phases_of_other_segmentations(tmp_path, monkeypatch, capsys):
    """A segmentation with other labels (ImageRep's 0/127/254) is analysed phase by phase, not refused with a
    traceback; the tortuosity is that of the lowest label."""
    path = shared_data("microstructure", "three_phase_stack_100.tiff")
    out = _run("microstructure.py", str(path), tmp_path, monkeypatch, capsys)
    assert all(f"phase {v}: volume fraction" in out for v in (0, 127, 254)), out
    assert "phase 0 tortuosity along z" in out
