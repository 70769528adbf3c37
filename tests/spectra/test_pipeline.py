"""Pipeline helpers: xarray's duck-array checks do not import array libraries nobody has imported; the
expansion of spectrum files and folders."""

import subprocess
import sys
import textwrap
from pathlib import Path


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
        (tmp_path / name).write_text("x")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    assert spectrum_files([b, b]) == [b]
    assert spectrum_files([b, tmp_path]) == [b, a]  # the folder's own order (sorted) after the first
    assert spectrum_files([tmp_path, b, str(tmp_path / "*.txt")]) == [a, b]
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert spectrum_files(["a.txt", tmp_path / "sub" / ".." / "a.txt", a]) == [Path("a.txt")]
