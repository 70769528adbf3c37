"""IONTOF SurfaceLab depth-profile reader: all 20 real exports, sniffing, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ionscope
from ionscope.depth._common import axis_values
from ionscope.io.iontof_profile import read_iontof_profile
from ionscope.io.registry import find_plugin
from ionscope.model.errors import AbsurdSizeError, FormatError, ValidationError

from ..conftest import SHARED_DATA, shared_data

PROFILE_DIR = SHARED_DATA / "iontof_depth_profiles"
FILES = sorted(str(p.relative_to(PROFILE_DIR)) for p in PROFILE_DIR.glob("*/*.txt")) if PROFILE_DIR.exists() else []


def _text_table(path: Path) -> tuple[list[str], list[float], np.ndarray]:
    """Independent plain-Python parse of the export: labels, masses, numbers (for comparison)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    labels = lines[1].split("\t")[4:]
    masses = lines[2].split("\t")[4:]
    if labels and labels[-1] == "":
        labels, masses = labels[:-1], masses[:-1]
    rows = [[float(v) for v in ln.rstrip("\t").split("\t")] for ln in lines[4:] if ln.strip()]
    return labels, [float("nan") if m == "N/A" else float(m) for m in masses], np.array(rows)


@pytest.mark.realdata
def test_twenty_real_exports_are_there():
    shared_data("iontof_depth_profiles")
    assert len(FILES) == 20


@pytest.mark.realdata
@pytest.mark.parametrize("name", FILES)
def test_real_export_matches_text(name):
    path = shared_data("iontof_depth_profiles", name)
    prof = ionscope.read(path)  # through the registry: extension .txt + sniff
    labels, masses, table = _text_table(path)
    assert prof.dims == ("scan", "peak")
    assert prof.sizes["scan"] == table.shape[0]
    assert prof.sizes["peak"] == len(labels) == table.shape[1] - 4
    peaks = [str(p) for p in prof.peak.values]
    assert len(set(peaks)) == len(peaks)  # repeated names made unique, the exported ones kept in attrs
    assert prof.attrs.get("original_labels", peaks) == labels
    np.testing.assert_array_equal(prof.values, table[:, 4:])  # inf in ratio columns included
    np.testing.assert_array_equal(prof.sputter_time.values, table[:, 1])
    np.testing.assert_array_equal(prof.dose.values, table[:, 2])
    np.testing.assert_array_equal(prof.fluence.values, table[:, 3])
    np.testing.assert_array_equal(prof.mz.values, np.array(masses))
    assert prof.sputter_time.attrs["units"] == "s" and prof.fluence.attrs["units"] == "ions/cm^2"
    expected = "negative" if "_neg-" in name else "positive"
    assert prof.attrs["acquisition"]["polarity"] == expected
    assert labels[0] == "total"


def _write(tmp_path: Path, text: str, name: str = "p.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", "\r\n").encode())
    return p


HEADER = ("# Profile Smoothing is Disabled\n#\t\t\t\ttotal\t^119Sn+\tPb+ / ( In+ )\t\n#\t\t\t\tN/A\t118.9011\tN/A\t\n"
          "#Data Point #\tSputter Time (s)\tDose (ions)\tFluence (ions/cm^2)\tIntensity\tIntensity\tIntensity\t\n")
ROWS = "".join(f"{i + 1}\t{1.5 * i}\t{1e9 * (i + 1)}\t{4e11 * (i + 1)}\t{100 + i}\t{i}\t{'inf' if i == 2 else 0.5}\t\n"
               for i in range(12))


def test_small_export_parses(tmp_path):
    prof = read_iontof_profile(_write(tmp_path, HEADER + ROWS))
    assert prof.shape == (12, 3)
    assert list(prof.peak.values) == ["total", "^119Sn+", "Pb+ / ( In+ )"]
    assert np.isnan(prof.mz.values[0]) and prof.mz.values[1] == pytest.approx(118.9011)
    assert np.isinf(prof.values[2, 2])
    assert prof.attrs["acquisition"]["polarity"] == "positive"


def test_sniff_tells_profile_from_spectrum(tmp_path):
    prof = _write(tmp_path, HEADER + ROWS)
    spec = _write(tmp_path, "# Binning: 200 channels\n# Deadtime Correction: on\nChannel\tm/z\tIntensity\n1\t1.0\t3\n",
                  "s.txt")
    plugin = find_plugin(prof)
    assert plugin.name == "iontof-profile"
    assert plugin.sniff(prof, prof.read_bytes()[:4096])
    assert not plugin.sniff(spec, spec.read_bytes()[:4096])


def test_a_utf8_byte_order_mark_is_read_as_if_absent(tmp_path):
    """A profile saved by an editor with a UTF-8 byte order mark reads the same as without it."""
    plain = read_iontof_profile(_write(tmp_path, HEADER + ROWS))
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROWS).replace("\n", "\r\n").encode())
    prof = ionscope.read(path)  # through the registry: sniffed as a profile, then read
    assert find_plugin(path).name == "iontof-profile"
    np.testing.assert_array_equal(prof.values, plain.values)
    assert list(prof.peak.values) == list(plain.peak.values) and prof.attrs["smoothing"] == plain.attrs["smoothing"]


def test_numbers_with_a_decimal_comma_read_as_with_a_point(tmp_path):
    """An export made under a German or French Windows locale (masses and data written 118,9011) is the
    same profile."""
    plain = read_iontof_profile(_write(tmp_path, HEADER + ROWS))
    comma = read_iontof_profile(_write(tmp_path, (HEADER + ROWS).replace(".", ","), "comma.txt"))
    np.testing.assert_array_equal(comma.values, plain.values)
    for name in ("sputter_time", "dose", "fluence", "mz"):
        np.testing.assert_array_equal(comma[name].values, plain[name].values)


@pytest.mark.parametrize("text, match", [
    (HEADER.split("\n", 2)[2] + ROWS, "header row"),  # smoothing and species rows missing
    (HEADER.split("\n", 1)[0] + "\n", "truncated"),  # header cut short
    (HEADER, "no data rows"),
    (HEADER + ROWS + "13\t18\t1e9\t1e11\t5\t6\t\n", "ragged|truncated"),
    (HEADER + ROWS.replace("\t104\t", "\tabc\t", 1), "non-numeric"),
    (HEADER + ROWS + "13\t18\t1e9\t1e11\t5\t6\t7\t8\t\n", "ragged"),
    (HEADER.replace("total\t", "total\textra\t"), "disagree"),
    (HEADER.replace("\tIntensity\t\n", "\t\n"), "disagree"),
    (HEADER + ROWS.replace("\t6.0\t", "\t1.0\t", 1), "does not increase"),
    (HEADER + ROWS.replace("\t104\t", "\t-104\t", 1), "negative"),
    (HEADER.replace("Data Point #", "Point"), "Data Point"),
])
def test_bad_exports_raise_format_error(tmp_path, text, match):
    with pytest.raises(FormatError, match=match) as err:
        read_iontof_profile(_write(tmp_path, text))
    assert "p.txt" in str(err.value)


def test_absurd_header_line_is_refused(tmp_path):
    text = "# Profile Smoothing is Disabled\n#\t\t\t\t" + "X+\t" * 400_000 + "\n"
    with pytest.raises(AbsurdSizeError):
        read_iontof_profile(_write(tmp_path, text))


def test_absurd_species_count_is_refused(tmp_path):
    n = 25_000
    text = ("# Profile Smoothing is Disabled\n#\t\t" + "A+\t" * n + "\n#\t\t" + "1\t" * n + "\n"
            "#Data Point #\tSputter Time (s)\t" + "Intensity\t" * n + "\n")
    with pytest.raises(AbsurdSizeError, match="species"):
        read_iontof_profile(_write(tmp_path, text))


def test_export_without_dose_reads_but_dose_axis_is_a_clear_error(tmp_path):
    header = ("# Profile Smoothing is Disabled\n#\t\ttotal\tPb+\t\n#\t\tN/A\t207.97\t\n"
              "#Data Point #\tSputter Time (s)\tIntensity\tIntensity\t\n")
    rows = "".join(f"{i + 1}\t{i}\t{10 + i}\t{i}\t\n" for i in range(10))
    prof = read_iontof_profile(_write(tmp_path, header + rows))
    assert "dose" not in prof.coords
    with pytest.raises(ValidationError, match="Dose"):
        axis_values(prof, "dose")


def test_empty_file(tmp_path):
    p = tmp_path / "p.txt"
    p.write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        read_iontof_profile(p)


def test_info_handles_na_masses(cli, tmp_path):
    # Masses given as N/A become NaN; `ionscope info` must still print the m/z range of the others.
    code, out, err = cli("info", _write(tmp_path, HEADER + ROWS), "--json")
    assert code == 0, err
    import json

    desc = json.loads(out)["results"]
    assert desc["kind"] == "depth_profile" and desc["coord_ranges"]["mz"] == [118.9011, 118.9011]


def test_damaged_exports_fail_cleanly(tmp_path):
    """Truncated or byte-damaged exports either read or raise FormatError, never anything else."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    good = (HEADER + ROWS).replace("\n", "\r\n").encode()
    path = tmp_path / "p.txt"

    @settings(max_examples=60, deadline=None, database=None)
    @given(cut=st.integers(1, len(good)), pos=st.integers(0, len(good) - 1),
           byte=st.sampled_from(list(b"\t\n#x-.9 eE\x00\xff")))
    def check(cut, pos, byte):
        data = bytearray(good[:cut])
        if pos < len(data):
            data[pos] = byte
        path.write_bytes(bytes(data))
        try:
            prof = read_iontof_profile(path)
        except FormatError:
            return
        assert prof.sizes["peak"] == 3 and np.all(np.diff(prof.sputter_time.values) > 0)

    check()
