"""Pipeline helpers: xarray's duck-array checks do not import array libraries nobody has imported; the
expansion of spectrum files and folders."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest


def test_numpy_only_arrays_imports_no_duck_array_library_and_restores_xarray():
    # a fresh interpreter: whether dask/pint get imported depends on what the process imported before
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import xarray as xr
        from xarray.namedarray import pycompat
        from ionscope.spectra.pipeline import numpy_only_arrays

        before = dict(pycompat._cached_duck_array_modules)
        with numpy_only_arrays():
            a = xr.DataArray(np.arange(5.0), dims="mz", coords={"mz": np.linspace(1, 5, 5)})
            b = (a * 2).sum().item()
            inside = {m: m in sys.modules for m in ("dask", "pint", "sparse")}
        assert b == 20.0
        assert dict(pycompat._cached_duck_array_modules) == before
        import dask.array as da
        c = xr.DataArray(da.ones(4, chunks=2), dims="x")
        assert type(c.data).__module__.startswith("dask"), type(c.data)
        print(inside)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'dask': False, 'pint': False, 'sparse': False}"


def test_spectrum_files_lists_a_file_given_twice_once_in_first_seen_order(tmp_path, monkeypatch):
    """The same file named twice, through its folder, another spelling of its path or a glob is analysed once."""
    from ionscope.spectra.pipeline import spectrum_files

    for name in ("b.txt", "a.txt"):
        (tmp_path / name).write_text("1\t2\n")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    assert spectrum_files([b, b]) == [b]
    assert spectrum_files([b, tmp_path]) == [b, a]  # the folder's own order (sorted) after the first
    assert spectrum_files([tmp_path, b, str(tmp_path / "*.txt")]) == [a, b]
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert spectrum_files(["a.txt", tmp_path / "sub" / ".." / "a.txt", a]) == [Path("a.txt")]


def test_a_link_of_another_name_is_a_file_of_its_own(tmp_path):
    """Two links of different names to one export (P_sampleA…, P_sampleB…) are two rows: a name can carry the
    polarity, the primary ion and the sample (they had been merged into one, silently)."""
    from ionscope.spectra.pipeline import spectrum_files

    (tmp_path / "export.txt").write_text("1\t2\n")
    for name in ("P_sampleA_Bi1.txt", "N_sampleB_Bi1.txt"):
        (tmp_path / name).symlink_to(tmp_path / "export.txt")
    assert [p.name for p in spectrum_files([tmp_path])] == ["N_sampleB_Bi1.txt", "P_sampleA_Bi1.txt", "export.txt"]


@pytest.mark.parametrize("n", [1, 2])
def test_a_spectrum_too_short_to_hold_a_peak_is_refused_and_a_batch_goes_on(cli, tmp_path, n):
    """One or two channels (a NumPy archive of m/z [1] and counts [5]) had ended in a NumPy traceback, and the
    whole batch with it: one line naming the file, exit 2, and in a folder the other files are analysed."""
    from ionscope.synth.spectra import tof_spectrum

    np.savez(tmp_path / "P_short.npz", mz=np.arange(1.0, n + 1), counts=np.full(n, 5.0))
    code, _, err = cli("spectrum", "identify", tmp_path / "P_short.npz", "--elements", "Na")
    assert code == 2 and "P_short.npz" in err and "too few" in err and "Traceback" not in err, err
    if n == 1:
        return  # the batch once, with the two-channel file
    spec, _ = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C3H5+": 3e4, "K+": 2e4},
                           shots=None, seed=0)
    np.savez(tmp_path / "P_good.npz", mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    code, out, err = cli("spectrum", "identify", tmp_path, "--elements", "Na", "--json")
    files = {Path(r["results"]["file"]).name: r["results"] for r in json.loads(out)["results"]}
    assert code == 2 and files["P_good.npz"]["error"] is None and "too few" in files["P_short.npz"]["error"], out


def test_an_unexpected_error_in_one_file_does_not_end_a_batch(tmp_path, monkeypatch):
    """Whatever one file raises, its row says so and names the file; the others are analysed."""
    import ionscope.spectra.pipeline as pipeline

    real = pipeline.identify_file

    def failing(path, **kwargs):
        if Path(path).name == "P_a.txt":
            raise ZeroDivisionError("division by zero")
        return real(path, **kwargs)

    monkeypatch.setattr(pipeline, "identify_file", failing)
    res = pipeline._identify_or_error((tmp_path / "P_a.txt", None), elements=["Na"])
    assert "P_a.txt" in res["error"] and "ZeroDivisionError" in res["error"], res["error"]


def test_a_folder_s_text_file_that_is_no_export_is_left_out_with_a_note(cli, tmp_path):
    """``notes.txt`` beside the exports had become a failed row and exit 2; it is left out with a warning, as is a
    compressed export (it had been left out silently). An empty export, or one cut after its header, is still a
    failed row: it is an export gone wrong, as is one saved as UTF-16, whose row says so. A table of m/z and counts
    (.csv) is a spectrum file of the folder."""
    from ionscope.spectra.pipeline import spectrum_files

    (tmp_path / "notes.txt").write_text("sample A, cycled 10 times\nsputtered 30 s\n")
    (tmp_path / "P_cut.txt").write_text("# Binning: 200 channels\nChannel\tm/z\tIntensity\n")
    (tmp_path / "P_empty.txt").write_text("")
    (tmp_path / "P_ok.txt").write_text("Channel\tm/z\tIntensity\n100\t0,0002\t0\n")
    (tmp_path / "P_zipped.txt.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "P_table.csv").write_text("m/z,counts\n1.0,2\n")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG")
    (tmp_path / "P_utf16.txt").write_bytes("Channel\tm/z\tIntensity\n100\t0.1\t2\n".encode("utf-16"))
    skipped: list[tuple[Path, str]] = []
    assert [p.name for p in spectrum_files([tmp_path], skipped)] == ["P_cut.txt", "P_empty.txt", "P_ok.txt",
                                                                    "P_table.csv", "P_utf16.txt"]
    assert [(p.name, why.split()[0]) for p, why in skipped] == [("P_zipped.txt.gz", "compressed"),
                                                                ("notes.txt", "not")]
    assert [p.name for p in spectrum_files([tmp_path / "notes.txt"])] == ["notes.txt"]  # named: analysed
    code, out, _ = cli("spectrum", "identify", tmp_path, "--elements", "Na", "--json")
    doc = json.loads(out)
    assert any(w.startswith("left out, not spectrum exports") and "notes.txt" in w for w in doc["warnings"])
    assert any(w.startswith("left out, compressed") and "P_zipped.txt.gz" in w for w in doc["warnings"])
    rows = {Path(r["results"]["file"]).name: r["results"] for r in doc["results"]}
    assert set(rows) == {"P_cut.txt", "P_empty.txt", "P_ok.txt", "P_table.csv", "P_utf16.txt"}
    assert "UTF-16" in rows["P_utf16.txt"]["error"]  # an export gone wrong: its row says how
