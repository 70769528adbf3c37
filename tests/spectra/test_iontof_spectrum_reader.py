import numpy as np
import pytest

import ionscope
from ionscope.io.iontof_spectrum import NonMonotonicError, SpectrumFoldWarning, read_iontof_spectrum
from ionscope.io.registry import find_plugin
from ionscope.model import AbsurdSizeError, FormatError, UnknownFormatError, ValidationError

from ..conftest import shared_data

HEADER = "# Binning: 200 channels\n# Deadtime Correction: on\nChannel\tm/z\tIntensity\n"


def _rows(n=50, t0=-300.0, k=33000.0, start=100):
    ch = start + 200 * np.arange(n)
    mz = ((ch - t0) / k) ** 2
    return "".join(f"{c}\t{m:.6f}\t{i}\n" for c, m, i in zip(ch, mz, np.arange(n) % 7))


def _write(tmp_path, text, name="P_sample.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_an_export_without_its_comment_lines_is_read_and_one_without_columns_says_what_was_expected(tmp_path):
    """Cutting the '# Binning' lines leaves a readable export (binning unknown); cutting the column header
    too leaves a table of channel, m/z and counts, read as such (with a warning saying so); a text that is
    neither gives a message naming the formats the extension stands for and what the file begins with."""
    s = ionscope.read(_write(tmp_path, HEADER.splitlines(keepends=True)[-1] + _rows()))
    assert s.sizes["mz"] == 50 and s.attrs["acquisition"].get("binning") is None
    with pytest.warns(UserWarning, match="no header"):
        bare = ionscope.read(_write(tmp_path, _rows(), name="P_bare.txt"))
    assert bare.sizes["mz"] == 50 and np.array_equal(bare.coords["mz"].values, s.coords["mz"].values)
    with pytest.raises(FormatError) as info:
        ionscope.read(_write(tmp_path, "a b c\n1 2\n", name="P_words.txt"))
    msg = str(info.value)
    assert "P_words.txt" in msg and "iontof-spectrum" in msg and "`ionscope formats` describes each" in msg
    assert msg.split(": ", 1)[1].startswith("it begins 'a b c'"), msg  # what is wrong first


def test_a_binary_or_utf16_file_named_txt_is_described_not_printed(tmp_path):
    binary = tmp_path / "P_binary.txt"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4)
    with pytest.raises(FormatError) as info:
        ionscope.read(binary)
    assert "binary data (first bytes 7f 45 4c 46)" in str(info.value) and "\\x" not in str(info.value)
    # random bytes without a NUL: an eighth of them control characters, half of them not UTF-8
    noise = tmp_path / "P_noise.txt"
    noise.write_bytes(bytes(b for b in np.random.default_rng(0).integers(1, 256, 600, dtype=np.uint8)))
    with pytest.raises(FormatError) as info:
        ionscope.read(noise)
    assert "binary data (first bytes" in str(info.value) and "\ufffd" not in str(info.value)
    # a Latin-1 µ in an ANSI export's header is still text
    ansi = tmp_path / "P_ansi.txt"
    ansi.write_bytes("Sample 5 \xb5m spot\n".encode("latin-1") + _rows().encode())
    with pytest.raises(FormatError) as info:
        ionscope.read(ansi)
    assert "it begins 'Sample 5" in str(info.value)
    wide = tmp_path / "P_wide.txt"
    wide.write_bytes((HEADER + _rows()).encode("utf-16"))
    with pytest.raises(FormatError) as info:
        ionscope.read(wide)
    assert "UTF-16" in str(info.value)


def test_reads_header_channels_and_polarity_from_name(tmp_path):
    p = _write(tmp_path, HEADER + _rows())
    s = ionscope.read(p, polarity="from-name")
    assert s.dims == ("mz",) and s.sizes["mz"] == 50
    assert s.coords["channel"].attrs["units"] == "channel" and s.coords["mz"].attrs["units"] == "m/z"
    assert s.coords["channel"].values[0] == 100
    acq = s.attrs["acquisition"]
    assert acq["binning"] == 200 and acq["dead_time_corrected"] is True and acq["polarity"] == "positive"
    assert float(s.sum()) == float(np.sum(np.arange(50) % 7))
    assert ionscope.read(p).attrs["acquisition"]["polarity"] == "positive"  # the name's prefix by default
    assert ionscope.read(p, polarity="negative").attrs["acquisition"]["polarity"] == "negative"
    other = _write(tmp_path, HEADER + _rows(), name="sample.txt")
    assert "polarity" not in ionscope.read(other).attrs["acquisition"]  # no prefix, no option: unknown


def test_polarity_from_a_name_without_prefix_is_an_error(tmp_path):
    p = _write(tmp_path, HEADER + _rows(), name="sample.txt")
    with pytest.raises(ValidationError, match="P_"):
        read_iontof_spectrum(p, polarity="from-name")


def test_sniff_distinguishes_depth_profile_export(tmp_path):
    p = _write(tmp_path, HEADER + _rows(), name="x.dat")
    assert find_plugin(p).name == "iontof-spectrum"
    profile = _write(tmp_path, "# Profile Smoothing: none\n# species\nChannel\tm/z\tIntensity\n1\t1\t1\n", "y.dat")
    # the spectrum reader never claims a depth-profile export; the profile reader's sniff does
    assert find_plugin(profile).name != "iontof-spectrum"


def test_leading_fold_is_dropped_with_a_record(tmp_path):
    # channels before t0 fold back: m/z decreases over the first rows, then increases
    p = _write(tmp_path, HEADER + _rows(n=60, t0=1500.0))
    with pytest.warns(SpectrumFoldWarning):
        s = read_iontof_spectrum(p)
    rec = s.attrs["dropped_leading_rows"]
    assert rec["count"] == 7 and rec["channels"] == [100.0, 1300.0]
    assert s.sizes["mz"] == 53
    with pytest.raises(NonMonotonicError):
        read_iontof_spectrum(p, fold="error")


def test_non_monotonic_mz_in_the_middle_is_an_error_with_line(tmp_path):
    lines = (HEADER + _rows()).splitlines(keepends=True)
    lines[20], lines[21] = lines[21], lines[20]
    lines[20] = lines[20].replace(lines[20].split("\t")[0], lines[19].split("\t")[0][:-1] + "9", 1)
    p = _write(tmp_path, "".join(lines))
    with pytest.raises((NonMonotonicError, FormatError), match="line"):
        read_iontof_spectrum(p)


@pytest.mark.parametrize(("body", "match"), [
    ("100\t0.1\t5\n300\t0.2\t6\t7\n", "line 5 has 4 fields"),         # ragged row
    ("100\t0.1\t5\n300\tabc\t6\n", "line 5 is not numeric"),           # non-numeric
    ("100\t0.1\t5\n300\t0.2\n", "line 5 has 2 fields"),                # truncated last row
    ("100\t0.1\t5\n300\t0.2\t-3\n", "negative intensity"),
    ("100\t0.1\t5\n300\tnan\t6\n", "line 5 holds a non-finite value"),   # NaN, as pandas reads it
    ("100\t0.1\t5\n\n300\t0.2\tinf\n", "line 6 holds a non-finite value"),  # after a blank line
    ("", "no data rows"),
])
def test_corrupt_and_truncated_rows(tmp_path, body, match):
    p = _write(tmp_path, HEADER + body)
    with pytest.raises(FormatError, match=match):
        read_iontof_spectrum(p)


def test_a_utf8_byte_order_mark_is_read_as_if_absent(tmp_path):
    """Editors on Windows save UTF-8 with a byte order mark; the export reads the same as without it."""
    plain = ionscope.read(_write(tmp_path, HEADER + _rows()))
    for name, text in (("P_bom.txt", HEADER + _rows()), ("P_bom_crlf.txt", (HEADER + _rows()).replace("\n", "\r\n")),
                       ("P_bom_bare.txt", HEADER.splitlines(keepends=True)[-1] + _rows())):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert find_plugin(path).name == "iontof-spectrum", name
        s = ionscope.read(path)
        np.testing.assert_array_equal(s.values, plain.values)
        np.testing.assert_array_equal(s.coords["mz"].values, plain.coords["mz"].values)
    assert ionscope.read(tmp_path / "P_bom.txt").attrs["acquisition"]["binning"] == 200


def test_numbers_with_a_decimal_comma_read_as_with_a_point(tmp_path):
    """An export made under a German or French Windows locale writes 0,000222: the same spectrum; a bad row
    in it is still named by its line."""
    plain = ionscope.read(_write(tmp_path, HEADER + _rows()))
    comma = ionscope.read(_write(tmp_path, HEADER + _rows().replace(".", ","), "P_comma.txt"))
    np.testing.assert_array_equal(comma.values, plain.values)
    np.testing.assert_array_equal(comma.coords["mz"].values, plain.coords["mz"].values)
    rows = _rows().replace(".", ",").splitlines(keepends=True)
    rows[9] = rows[9].rsplit("\t", 1)[0] + "\tx\n"
    with pytest.raises(FormatError, match="line 13 is not numeric"):
        read_iontof_spectrum(_write(tmp_path, HEADER + "".join(rows), "P_comma_bad.txt"))


@pytest.mark.parametrize(("text", "words"), [
    (HEADER.replace("Channel\tm/z\tIntensity", "Channel\tIntensity") + "100\t5\n300\t6\n",
     ["line 3", "no m/z column", "'Channel', 'Intensity'"]),
    ("Channel\tIntensity\n100\t5\n300\t6\n", ["line 1", "no m/z column", "'Channel', 'Intensity'"]),
    (HEADER.replace("m/z", "Time") + "100\t0.1\t5\n", ["line 3", "no m/z column", "'Time'"]),
])
def test_an_export_with_wrong_columns_says_what_is_missing(tmp_path, text, words):
    """A file recognisably an IONTOF spectrum export ('# key: value' header or a column header naming two of
    Channel, m/z, Intensity) whose columns cannot be read by their names either is refused by the spectrum
    reader, which says what it found."""
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        ionscope.read(path)
    msg = str(info.value)
    assert not isinstance(info.value, UnknownFormatError), msg
    assert "P_sample.txt" in msg and all(w in msg for w in words), msg


def _semicolons(text: str) -> str:
    return text.replace("\t", ";")


@pytest.mark.parametrize("variant", [
    _semicolons,
    lambda t: t.replace("\t", "  "),
    lambda t: t.replace("Channel\tm/z\tIntensity", "Channel\tm/z (u)\tIntensity (counts)"),
    lambda t: t.replace("Channel\tm/z\tIntensity", "Channel\tMass (u)\tCounts"),
    lambda t: "".join(ln.rstrip("\n") + ("\tError\n" if i == 2 else "\t1\n" if i > 2 else "\n")
                      for i, ln in enumerate(t.splitlines(keepends=True))),
], ids=["semicolons", "spaces", "units", "mass-counts", "extra-column"])
def test_an_export_with_other_column_titles_or_separators_reads_as_the_export(tmp_path, variant):
    """The same export with columns titled with units or synonyms, separated otherwise or with a column more is
    read by the names of its columns, to the same spectrum and the same header metadata: a file's readability
    does not depend on whether it is named .txt or .csv."""
    plain = ionscope.read(_write(tmp_path, HEADER + _rows()))
    other = ionscope.read(_write(tmp_path, variant(HEADER + _rows()), "P_other.txt"))
    np.testing.assert_array_equal(other.values, plain.values)
    np.testing.assert_array_equal(other.coords["mz"].values, plain.coords["mz"].values)
    np.testing.assert_array_equal(other.coords["channel"].values, plain.coords["channel"].values)
    assert other.attrs["acquisition"] == plain.attrs["acquisition"]
    as_csv = ionscope.read(_write(tmp_path, _semicolons(HEADER + _rows()), "P_other.csv"))
    assert as_csv.attrs["acquisition"] == plain.attrs["acquisition"]


def test_a_binning_the_channels_contradict_is_replaced_with_a_warning(tmp_path):
    """'# Binning: 64 channels' above rows that step by 200 channels: the rows' binning, said on a warning."""
    with pytest.warns(UserWarning, match="states a binning of 64 channels, but the rows step by 200"):
        s = ionscope.read(_write(tmp_path, HEADER.replace("200", "64") + _rows()))
    assert s.attrs["acquisition"]["binning"] == 200


def test_rows_sorted_from_high_to_low_mz_are_refused_not_dropped(tmp_path):
    """m/z falling over the whole file is no fold before the TOF zero (whose m/z are all below 1): the rows
    are refused with the hint to sort them, never read as a one-row spectrum."""
    rows = _rows(k=3000.0).splitlines(keepends=True)  # m/z 0.02–12
    mz_first = "m/z\tIntensity\n" + "".join("\t".join(r.split("\t")[1:]) for r in rows[::-1])
    with pytest.raises(FormatError, match="sort them by m/z"):
        ionscope.read(_write(tmp_path, mz_first))
    with pytest.raises(FormatError, match="sort them by channel"):
        ionscope.read(_write(tmp_path, HEADER + "".join(rows[::-1])))


def test_missing_header_and_absurd_binning(tmp_path):
    # the export's '#' lines above its rows without the column titles: read as a table of channel, m/z, counts
    with pytest.warns(UserWarning, match="no header: the three columns are read as channel, m/z and counts"):
        rows = ionscope.read(_write(tmp_path, "# Binning: 200 channels\n# Deadtime Correction: on\n" + _rows()))
    plain = ionscope.read(_write(tmp_path, HEADER + _rows(), "P_plain.txt"))
    np.testing.assert_array_equal(rows.values, plain.values)
    assert rows.attrs["acquisition"] == plain.attrs["acquisition"]
    with pytest.raises(FormatError, match="column header"):
        read_iontof_spectrum(_write(tmp_path, "# Binning: 200 channels\n100\t0.1\n300\tx\n"))
    with pytest.raises(FormatError, match="column header"):
        read_iontof_spectrum(_write(tmp_path, "# Binning: 200 channels\n"))
    absurd = HEADER.replace("200", "99999999999")
    with pytest.raises(AbsurdSizeError, match="binning"):
        read_iontof_spectrum(_write(tmp_path, absurd + _rows()))
    with pytest.raises(FormatError, match="empty"):
        read_iontof_spectrum(_write(tmp_path, ""))


@pytest.mark.realdata
def test_real_exports_read_completely():
    folder = shared_data("iontof_spectra")
    for path in sorted(folder.glob("*.txt")):
        s = ionscope.read(path, polarity="from-name")
        n_rows = sum(1 for _ in open(path)) - 3
        assert s.sizes["mz"] == n_rows, path.name  # no row dropped
        assert s.attrs["acquisition"]["binning"] == 200
        assert s.attrs["acquisition"]["polarity"] == ("positive" if path.name.startswith("P_") else "negative")


def test_printed_mz_that_ties_at_one_channel_per_bin_comes_from_the_channel_law(tmp_path):
    """At one channel per bin the m/z step below m/z ~10⁻³ is under the printed 10⁻⁶, so rows tie; the
    export's own law t = t0 + k√m reproduces every printed value and gives their order back."""
    t0, k = -300.0, 33000.0
    ch = np.concatenate([np.arange(0, 400), 2_000 + 100 * np.arange(2_000)])  # ties below m/z 1e-3
    mz = ((ch - t0) / k) ** 2
    body = "".join(f"{c}\t{m:.6f}\t{i % 5}\n" for i, (c, m) in enumerate(zip(ch, mz)))
    assert len({f"{m:.6f}" for m in mz}) < ch.size
    s = ionscope.read(_write(tmp_path, HEADER.replace("200", "1") + body))
    got = s.coords["mz"].values
    assert np.all(np.diff(got) > 0) and np.max(np.abs(got - mz)) < 1e-6
    assert s.attrs["mz_from_channel_law"]["tied_rows"] > 0
    # a tie the law does not reproduce (m/z ~10 repeated on the next channel) is still an error
    rows = body.splitlines(keepends=True)
    c, m, n = rows[1000].split("\t")
    rows[1001] = "\t".join([rows[1001].split("\t")[0], m, n])
    with pytest.raises(NonMonotonicError, match="non-monotonic"):
        ionscope.read(_write(tmp_path, HEADER + "".join(rows), name="P_tie.txt"))


def test_an_export_without_channels_or_with_a_tab_ending_every_row(tmp_path):
    """``m/z  Intensity`` alone is a spectrum without a channel coordinate; rows (and the column header) that end
    with a tab, and Windows line ends, read as without; a row with a value after its last tab is refused."""
    plain = ionscope.read(_write(tmp_path, HEADER + _rows()))
    two = "".join(line.split("\t", 1)[1] for line in (HEADER + _rows()).splitlines(keepends=True)[2:])
    no_channel = ionscope.read(_write(tmp_path, "# Binning: 200 channels\n" + two, "P_two.txt"))
    assert "channel" not in no_channel.coords
    np.testing.assert_array_equal(no_channel.values, plain.values)
    np.testing.assert_array_equal(no_channel.coords["mz"].values, plain.coords["mz"].values)
    tabbed = (HEADER + _rows()).replace("\n", "\t\r\n").replace("channels\t\r\n", "channels\r\n")
    tabbed = tabbed.replace("Correction: on\t\r\n", "Correction: on\r\n")
    read = ionscope.read(_write(tmp_path, tabbed, "P_tabbed.txt"))
    np.testing.assert_array_equal(read.values, plain.values)
    np.testing.assert_array_equal(read.coords["channel"].values, plain.coords["channel"].values)
    rows = tabbed.splitlines(keepends=True)
    rows[5] = rows[5].replace("\t\r\n", "\t7\r\n")
    with pytest.raises(FormatError, match="line 6 has 4 fields instead of 3"):
        read_iontof_spectrum(_write(tmp_path, "".join(rows), "P_extra.txt"))
