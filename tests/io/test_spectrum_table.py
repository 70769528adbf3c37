"""Spectra as delimited text tables (CSV, TSV, whitespace): columns by title, bad rows named by their line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import ionscope
from ionscope.io.spectrum_table import LayoutWarning, RepeatedMassWarning
from ionscope.io.table_text import write_table
from ionscope.model.arrays import make_spectrum
from ionscope.model.errors import FormatError


def test_own_csv_and_tsv_read_back_exactly(tmp_path):
    spec = make_spectrum(np.array([0.0, 3.0, 7.5, 1.0]), np.array([1.007, 12.0, 22.99, 38.96]),
                         channel=np.array([10.0, 20.0, 30.0, 40.0]))
    for name in ("s.csv", "s.tsv"):
        back = ionscope.read(write_table(spec, tmp_path / name))
        assert np.array_equal(back.values, spec.values)
        assert np.array_equal(back.coords["mz"].values, spec.coords["mz"].values)
        assert np.array_equal(back.coords["channel"].values, spec.coords["channel"].values)


@pytest.mark.parametrize("text, headerless", [
    ("Mass (u);Intensity\n1.0;5\n2.0;6\n3.0;7\n", False),
    ("m/z\tcounts\n1.0\t5\n2.0\t6\n3.0\t7\n", False),
    ("# exported by another program\n1.0 5\n2.0 6\n3.0 7\n", True),
    ("100\t1.0\t5\n300\t2.0\t6\n500\t3.0\t7\n", True),  # an IONTOF export without its header
    ('\ufeff"m/z","counts"\r\n"1.0","5"\r\n"2.0","6"\r\n"3.0","7"\r\n', False),  # spreadsheet CSV
    ("Masse (u);Intensität\n1,0;5\n2,0;6\n3,0;7\n", False),  # decimal commas
])
def test_columns_are_found_by_title_or_layout(tmp_path, text, headerless):
    """By their titles, or without a header by their number and contents, with a warning saying which."""
    p = tmp_path / "spectrum.txt"
    p.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = ionscope.read(p)
    assert np.array_equal(spec.values, [5.0, 6.0, 7.0]) and np.array_equal(spec.coords["mz"].values, [1, 2, 3])
    assert any(issubclass(w.category, LayoutWarning) for w in caught) == headerless


@pytest.mark.parametrize("text, message", [
    ("m/z,counts\n1.0,5\n2.0,x\n", "line 3"),
    ("m/z,counts\n2.0,5\n1.0,6\n", "line 3: m/z 1 is below"),
    ("m/z,counts\n1.0,5\n2.0,-6\n", "line 3: m/z and counts must be finite"),
    ("time,value\n1.0,5\n2.0,6\n", "no m/z column"),
    ("m/z,counts\n", "no data rows"),
])
def test_bad_tables_name_the_line(tmp_path, text, message):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(FormatError, match=message):
        ionscope.read(p, format="spectrum-table")


def test_rows_of_one_mz_are_merged_with_a_warning(tmp_path):
    """An export's m/z written with 6 decimals cannot tell adjacent channels apart at m/z 10⁻⁴."""
    p = tmp_path / "s.csv"
    p.write_text("m/z,counts\n0.000085,1\n0.000085,2\n0.000102,3\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = ionscope.read(p)
    assert np.array_equal(spec.values, [3.0, 3.0])
    assert any(issubclass(w.category, RepeatedMassWarning) and "line 3" in str(w.message) for w in caught)


def test_spectrum_commands_read_a_csv_spectrum(cli, tmp_path):
    x = np.linspace(10.0, 60.0, 5001)
    y = 2.0 + sum(h * np.exp(-0.5 * ((x - m) / 0.01) ** 2) for m, h in ((22.99, 500.0), (38.96, 300.0)))
    p = tmp_path / "P_other.csv"
    p.write_text("m/z,counts\n" + "".join(f"{a:.5f},{b:.0f}\n" for a, b in zip(x, y)))
    code, out, err = cli("spectrum", "peaks", p, "--no-recalibrate")
    assert code == 0 and "22.99" in out and "38.96" in out, err
    assert "not whole numbers" not in err
    scaled = tmp_path / "P_scaled.csv"  # counts × 1.7 (a rate over 0.6 s): not Poisson counts, none below 1
    scaled.write_text("m/z,counts\n" + "".join(f"{a:.5f},{b * 1.7:.3f}\n" for a, b in zip(x, y)))
    code, out, err = cli("spectrum", "peaks", scaled, "--no-recalibrate")
    assert code == 0 and "intensities are not whole numbers: they are taken as counts" in " ".join(err.split())


def test_intensities_below_one_count_are_refused_whatever_the_header_says(cli, tmp_path):
    """Per second or normalised intensities (most non-zero ones below 1) are no counts even in an export whose
    header says dead-time corrected (a correction only raises whole counts): the identification, whose every
    number rests on counts, exits 2 naming the file; peaks and calibrate, whose positions do not, warn. A few such
    values beside counts are warned about."""
    x = np.linspace(10.0, 60.0, 5001)
    y = 2.0 + sum(h * np.exp(-0.5 * ((x - m) / 0.01) ** 2) for m, h in ((22.99, 500.0), (38.96, 300.0)))
    rate = tmp_path / "P_rate.csv"
    rate.write_text("# Deadtime Correction: on\nm/z,counts\n"
                    + "".join(f"{a:.5f},{b * 0.37:.3f}\n" for a, b in zip(x, y)))
    code, out, err = cli("spectrum", "identify", rate)
    text = " ".join(err.split())
    assert code == 2 and "P_rate.csv" in text and "between 0 and 1" in text and "export the spectrum as counts" \
        in text, text
    code, out, err = cli("spectrum", "peaks", rate, "--no-recalibrate")
    assert code == 0 and "intensities lie between 0 and 1, which no count can" in " ".join(err.split()), err
    normalised = tmp_path / "P_normalised.csv"  # over Poisson noise no peak of it stands out: the error says why
    normalised.write_text("m/z,counts\n" + "".join(f"{a:.5f},{b / y.sum():.4g}\n" for a, b in zip(x, y)))
    code, out, err = cli("spectrum", "calibrate", normalised, "--polarity", "positive")
    assert code == 2 and "mostly below 1, which no count is" in " ".join(err.split()), err
    few = tmp_path / "P_few.csv"
    values = np.rint(y)
    values[::1000] = 0.5
    few.write_text("# Deadtime Correction: on\nm/z,counts\n" + "".join(f"{a:.5f},{b:g}\n" for a, b in zip(x, values)))
    code, out, err = cli("spectrum", "peaks", few, "--no-recalibrate")
    assert code == 0 and "6 of the 5001 intensities lie between 0 and 1" in " ".join(err.split()), err


def test_a_channel_column_off_the_tof_law_is_refused_with_the_way_out(cli, tmp_path):
    """Channels that are row numbers, not TOF channels, cannot calibrate: the message says by how much (u) and to
    drop the column."""
    mz = np.linspace(10.0, 60.0, 400)
    p = tmp_path / "P_rows.csv"
    p.write_text("channel,m/z,counts\n" + "".join(f"{k},{m:.5f},{k % 7}\n" for k, m in enumerate(mz, start=1)))
    code, _, err = cli("spectrum", "peaks", p)
    text = " ".join(err.split())
    assert code == 2 and "u off the time-of-flight law" in text and "drop it" in text


def test_info_and_convert_put_the_readers_warnings_in_the_json(cli, tmp_path):
    """With --json, what the reader had to say (here: how the columns of a headerless table were read) is in the
    envelope's warnings, and not repeated on stderr; as text it is on stderr."""
    p = tmp_path / "P_bare.csv"
    p.write_text("".join(f"{m:.3f},{k % 5}\n" for k, m in enumerate(np.linspace(10.0, 20.0, 50))))
    code, out, err = cli("info", p, "--json")
    doc = json.loads(out)
    assert code == 0 and any("no header" in w for w in doc["warnings"]) and "no header" not in err, (doc, err)
    code, out, err = cli("convert", p, tmp_path / "bare.zarr", "--json")
    assert code == 0 and any("no header" in w for w in json.loads(out)["warnings"]) and "no header" not in err
    code, out, err = cli("info", p)
    assert code == 0 and "no header" in err and "no header" not in out


def test_counts_scaled_by_a_whole_factor_are_refused_by_the_identification(cli, tmp_path):
    """A spectrum whose every non-zero count is even (Poisson counts ×2, which stay whole numbers) had passed as
    counts with σ √2 too small: the identification exits 2 saying to divide by 2, peaks warns; the same counts
    unscaled pass."""
    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "K+": 2e4}, shots=None,
                           seed=0, n_channels=50_000)
    for factor in (1, 2):
        path = tmp_path / f"P_x{factor}.npz"
        np.savez(path, mz=spec.mz.values, counts=spec.values * factor, channel=spec.channel.values)
        code, out, err = cli("spectrum", "identify", path, "--elements", "Na")
        text = " ".join(err.split())
        if factor == 1:
            assert code == 0 and "multiple of" not in text, text
            continue
        assert code == 2 and "every non-zero intensity is a multiple of 2" in text and "divide" in text, text
        code, out, err = cli("spectrum", "peaks", path)
        assert code == 0 and "multiple of 2" in " ".join(err.split()), err
