"""Hostile and awkward inputs named one by one: reader options, absurd numbers, damaged stores,
odd TIFFs, forced outputs over files and symlinks, leftovers of interrupted writes, real-file quirks."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

import ionscope
from ionscope.io.atomic import StaleTemporaryWarning, atomic_path, clean_stale
from ionscope.io.checks import TruncatedWarning
from ionscope.io.zarr_store import MissingChunksWarning, save
from ionscope.model.arrays import make_ion_image
from ionscope.model.errors import AbsurdSizeError, FormatError, UnsupportedError
from tests.fuzz.seeds import SEEDS

from ..conftest import shared_data


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust-seeds")
    out = {}
    for name, (build, _fmt) in SEEDS.items():
        (root / name).mkdir()
        out[name] = build(root / name)
    return out


# --- reader options: one schema per reader --------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in SEEDS if n != "cycling_csv"])
@pytest.mark.parametrize("option", ["bogus=1", "lazy=1"])
def test_unknown_options_give_one_line_naming_file_option_and_accepted(cli, seeds, name, option):
    code, out, err = cli("info", seeds[name], "-o", option)
    key = option.split("=")[0]
    accepted = ionscope.io.registry.options_model(ionscope.io.registry.find_plugin(seeds[name])).model_fields
    if key in accepted:
        assert code == 0, err
        return
    assert code == 2
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert seeds[name].name in line and repr(key) in line and "accepted options" in line


@pytest.mark.parametrize("option, message", [
    ("mz_bin=0", "greater than 0"), ("mz_bin=-1", "greater than 0"), ("nx=abc", "valid integer"),
    ("nx=0", "greater than 0"), ("sf=nan", "finite"), ("k0=1e400", "finite"),
])
def test_grd_option_values_are_parsed_and_checked(cli, seeds, option, message):
    code, _out, err = cli("info", seeds["grd"], "-o", option)
    assert code == 2 and message in err and option.split("=")[0] in err


def test_negative_numbers_are_parsed_as_numbers(seeds):
    table = ionscope.read(seeds["grd"], k0="-3.5", sf="1000")
    assert table.calibration.k0 == -3.5


def test_grd_mz_bin_too_fine_is_refused_before_allocation(seeds):
    """1 – 500 m/z in 1e-7 bins over 8 × 8 pixels would be 5e9 bins (~1.3 TB of uint32)."""
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(AbsurdSizeError, match="m/z bins"):
        ionscope.read(seeds["grd"], k0="0", sf="1000", nx="8", ny="8", mz_bin="1e-7")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


# --- imzML -----------------------------------------------------------------------------------------

def _edit_xml(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize("value", ["1e30", "18446744073709551616", "-1e30"])
def test_imzml_numbers_beyond_64_bit(seeds, tmp_path, value):
    from tests.fuzz.seeds import copy_seed

    p = copy_seed(seeds["imzml_processed"], tmp_path)
    text = p.read_text()
    first = text.index('accession="IMS:1000102" name="external offset" value="')
    start = text.index('value="', first) + 7
    p.write_text(text[:start] + value + text[text.index('"', start):])
    with pytest.raises((AbsurdSizeError, FormatError), match="64 bits|negative"):
        ionscope.read(p, checksum="false")


def test_imzml_offsets_inside_the_uuid_are_refused(seeds, tmp_path):
    import re

    from tests.fuzz.seeds import copy_seed

    p = copy_seed(seeds["imzml_processed"], tmp_path)
    p.write_text(re.sub(r'(name="external offset" value=")\d+', r"\g<1>0", p.read_text()))
    with pytest.raises(FormatError, match="inside the 16-byte UUID"):
        ionscope.read(p, checksum="false")


@pytest.mark.parametrize("count", ["0", "-3"])
def test_imzml_pixel_counts_zero_or_negative(seeds, tmp_path, count):
    from tests.fuzz.seeds import copy_seed

    p = copy_seed(seeds["imzml_processed"], tmp_path)
    _edit_xml(p, 'name="max count of pixels x" value="3"', f'name="max count of pixels x" value="{count}"')
    with pytest.raises(FormatError, match="at least 1"):
        ionscope.read(p)


def test_imzml_salvage_keeps_the_spectra_inside_a_truncated_ibd(seeds, tmp_path):
    from tests.fuzz.seeds import copy_seed

    p = copy_seed(seeds["imzml_processed"], tmp_path)
    ibd = p.with_suffix(".ibd")
    ibd.write_bytes(ibd.read_bytes()[: ibd.stat().st_size * 2 // 3])
    with pytest.raises(FormatError, match="beyond the end"):
        ionscope.read(p)
    with pytest.warns(TruncatedWarning):
        data = ionscope.read(p, salvage=True)
    assert 0 < data.n_spectra < 9 and any("salvaged" in n for n in data.index.notes)


@pytest.mark.realdata
def test_processed_imzml_converts_to_zarr_losslessly(cli, tmp_path):
    src = shared_data("imzml", "Example_Processed.imzML")
    code, _out, err = cli("convert", src, tmp_path / "p.zarr")
    assert code == 0, err
    store, orig = ionscope.read(tmp_path / "p.zarr"), ionscope.read(src)
    assert store.attrs["kind"] == "imzml_spectra" and store.attrs["grid"] == [3, 3]
    for i in range(orig.n_spectra):
        mz, it = orig.spectrum(i)
        a, n = int(store["start"][i]), int(store["length"][i])
        np.testing.assert_array_equal(store["mz"].values[a:a + n], mz)
        np.testing.assert_array_equal(store["intensity"].values[a:a + n], it)
        assert (int(store["pixel_x"][i]) + 1, int(store["pixel_y"][i]) + 1) == (orig.index.x[i], orig.index.y[i])


# --- Zarr ------------------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    im = make_ion_image(np.arange(8 * 6 * 2, dtype=np.float32).reshape(8, 6, 2), ["a", "b"], pixel_size_um=1.0)
    return save(im, tmp_path / "s.zarr", chunks={"y": 4, "x": 6, "peak": 2})


def _chunk(store: Path) -> Path:
    return sorted((store / "data" / "c").rglob("*"))[-1]


def test_zarr_corrupt_chunk_is_a_format_error_on_load(store, cli):
    _chunk(store).write_bytes(b"\x28\xb5\x2f\xfd garbage")
    with pytest.raises(FormatError, match="damaged chunk in 'data'"):
        ionscope.read(store).values  # noqa: B018
    code, _out, err = cli("convert", store, store.parent / "copy.zarr")
    assert code == 2 and "damaged chunk" in err and "Traceback" not in err


def test_zarr_deleted_chunk_of_an_ionscope_store_is_an_error(store):
    _chunk(store).unlink()
    with pytest.raises(FormatError, match="1 of 2 chunks of 'data' are missing"):
        ionscope.read(store)


def test_zarr_missing_chunks_of_a_foreign_store_read_as_fill_with_a_warning(store):
    meta = json.loads((store / "zarr.json").read_text())
    meta["attributes"].pop("ionscope_complete_chunks")
    (store / "zarr.json").write_text(json.dumps(meta))
    _chunk(store).unlink()
    with pytest.warns(MissingChunksWarning, match="read as the fill value"):
        da = ionscope.read(store)
    assert "reader_notes" in da.attrs


def test_zarr_absurd_chunk_shape_fails_in_info(store, cli):
    meta = json.loads((store / "data" / "zarr.json").read_text())
    meta["chunk_grid"]["configuration"]["chunk_shape"] = [10**6, 10**6, 1]
    (store / "data" / "zarr.json").write_text(json.dumps(meta))
    code, _out, err = cli("info", store)
    assert code == 2 and "allowed for one chunk" in err


# --- TIFF ------------------------------------------------------------------------------------------

def _tiff_with_tag(tmp_path: Path, tag: int, value: int) -> Path:
    """A valid 4 × 5 uint8 TIFF whose tag ``tag`` (SHORT or LONG) is overwritten with ``value``."""
    p = tmp_path / "t.tif"
    tifffile.imwrite(p, np.arange(20, dtype=np.uint8).reshape(4, 5))
    raw = bytearray(p.read_bytes())
    ifd = int.from_bytes(raw[4:8], "little")
    for k in range(int.from_bytes(raw[ifd:ifd + 2], "little")):
        e = ifd + 2 + 12 * k
        if int.from_bytes(raw[e:e + 2], "little") == tag:
            typ = int.from_bytes(raw[e + 2:e + 4], "little")
            raw[e + 8:e + 12] = value.to_bytes(2, "little") + b"\0\0" if typ == 3 else value.to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    return p


@pytest.mark.parametrize("tag", [256, 257])  # ImageWidth, ImageLength
def test_tiff_zero_width_or_length(tmp_path, tag, cli):
    p = _tiff_with_tag(tmp_path, tag, 0)
    code, _out, err = cli("info", p)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("bits", [3, 7])
def test_tiff_odd_bit_depths_are_unsupported_not_a_traceback(tmp_path, bits):
    p = _tiff_with_tag(tmp_path, 258, bits)  # BitsPerSample
    with pytest.raises((UnsupportedError, FormatError)):
        ionscope.read(p).values  # noqa: B018


def test_tiff_log_lines_do_not_reach_stderr(tmp_path, cli):
    p = _tiff_with_tag(tmp_path, 258, 3)
    code, _out, err = cli("info", p)
    assert code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.realdata
@pytest.mark.slow
def test_tiff_zip_archive_opens():
    vol = ionscope.read(shared_data("microstructure", "tau_benchmark_500.tiff.zip"))
    assert vol.shape == (500, 500, 500)


# --- outputs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_convert_force_onto_a_file_or_symlink_named_zarr(tmp_path, seeds, cli, kind):
    target = tmp_path / "out.zarr"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    if kind == "file":
        target.write_text("not a store")
    else:
        target.symlink_to(outside)
    code, _out, err = cli("convert", seeds["bif6"], target)
    assert code == 2 and "already exists" in err
    code, _out, err = cli("convert", seeds["bif6"], target, "--force")
    assert code == 0, err
    assert target.is_dir() and not target.is_symlink() and outside.read_text() == "keep me"
    assert ionscope.read(target).shape == (6, 5, 3)


def test_stale_temporaries_of_dead_processes_are_cleaned_live_ones_kept(tmp_path):
    target = tmp_path / "x.zarr"
    dead = tmp_path / ".x.zarr.tmp-999999999-abc"  # beyond pid_max: no such process
    live = tmp_path / f".x.zarr.tmp-{os.getppid()}-def"
    other = tmp_path / ".y.zarr.tmp-999999999-abc"
    for d in (dead, live, other):
        d.mkdir()
    with pytest.warns(StaleTemporaryWarning, match="left by interrupted process 999999999"):
        with atomic_path(target, directory=True) as tmp:
            tmp.mkdir()
    assert not dead.exists() and live.exists() and other.exists() and target.is_dir()


def test_interrupted_replacement_is_restored(tmp_path):
    target = tmp_path / "x.zarr"
    aside = tmp_path / ".x.zarr.old-999999999"
    aside.mkdir()
    (aside / "zarr.json").write_text("{}")
    with pytest.warns(StaleTemporaryWarning, match="restored"):
        clean_stale(target)
    assert (target / "zarr.json").exists() and not aside.exists()


# --- real-file quirks ------------------------------------------------------------------------------

def test_profile_rows_without_trailing_tab_and_repeated_labels(seeds, tmp_path):
    text = seeds["iontof_profile"].read_bytes().replace(b"\t\r\n", b"\r\n")
    p = tmp_path / "edited.txt"
    p.write_bytes(text)
    a, b = ionscope.read(seeds["iontof_profile"]), ionscope.read(p)
    np.testing.assert_array_equal(a.values, b.values)
    labels = [str(v) for v in b.peak.values]
    assert labels == ["total", "^119Sn+", "SnO+ (135.8979)", "SnO+ (135.9143)", "Pb+ / ( In+ )"]
    assert b.attrs["original_labels"][2:4] == ["SnO+", "SnO+"]
    assert b.attrs["renamed_labels"] == {"SnO+ (135.8979)": "SnO+", "SnO+ (135.9143)": "SnO+"}
    assert float(b.sel(peak="SnO+ (135.9143)").sum()) == float(a.isel(peak=3).sum())


def test_repeated_labels_without_masses_get_ranks():
    from ionscope.io.iontof_profile import unique_labels

    labels, renamed = unique_labels(["total", "x", "total"], np.array([np.nan, 1.0, np.nan]))
    assert labels == ["total #1", "x", "total #2"] and renamed == {"total #1": "total", "total #2": "total"}


def test_profile_salvage_drops_only_a_truncated_last_row(seeds, tmp_path):
    raw = seeds["iontof_profile"].read_bytes()
    p = tmp_path / "cut.txt"
    p.write_bytes(raw[: raw.rstrip().rfind(b"\t") - 3])
    with pytest.raises(FormatError, match="truncated row"):
        ionscope.read(p)
    with pytest.warns(TruncatedWarning):
        prof = ionscope.read(p, salvage=True)
    assert prof.sizes["scan"] == 19


def test_ibd_alone_points_to_the_imzml(seeds, cli):
    code, _out, err = cli("info", seeds["imzml_processed"].with_suffix(".ibd"))
    assert code == 2 and "open the .imzML" in err


def test_npz_reader_refuses_pickles(tmp_path):
    p = tmp_path / "o.npz"
    np.savez(p, a=np.arange(3), b=np.array([{"x": 1}], dtype=object))
    with pytest.raises(UnsupportedError, match="pickle"):
        ionscope.read(p)


@pytest.mark.realdata
@pytest.mark.slow
def test_every_shared_file_opens_and_converts(cli, tmp_path):
    """Every data file of ../shared/data (except licences, READMEs and .ibd halves) through
    `ionscope info` and `ionscope convert` to Zarr."""
    root = shared_data()
    files = [f for f in sorted(root.rglob("*")) if f.is_file() and not f.name.startswith(("LICENSE", "README"))
             and f.suffix.lower() != ".ibd" and f.stat().st_size < 50 * 2**20]
    assert len(files) >= 45
    converted: set[tuple[Path, str]] = set()
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code, _out, err = cli("info", f)
            assert code == 0, f"{f}: {err}"
            kind = (f.parent, "".join(f.suffixes[-2:]).lower())
            if kind in converted:
                continue  # every reader is converted once per folder; `info` above read every file
            converted.add(kind)
            code, _out, err = cli("convert", f, tmp_path / "x.zarr", "--force")
            assert code == 0, f"{f}: {err}"
