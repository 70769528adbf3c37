"""Oxford ``.h5oina`` EDS maps: files written with h5py after the published H5OINA layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ionscope
from ionscope.model.errors import FormatError, IonscopeError, UnsupportedError

h5py = pytest.importorskip("h5py")

ELEMENTS = {"Fe Ka1": 26, "O Ka1": 8, "Ni La1": 28}


def write_h5oina(path: Path, *, shape: tuple[int, int] = (6, 8), step_um: float = 0.25, live_s: float = 0.02,
                 spectrum: bool = True, seed: int = 0, nan_corner: bool = False) -> dict:
    """A single-slice EDS map following the H5OINA specification: root Format Version and Index,
    slice ``1`` with ``EDS/Header`` (X/Y Cells, X/Y Step, Start Channel, Channel Width, Number Channels)
    and ``EDS/Data`` (Window Integral maps in counts/s, Live Time, Spectrum)."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    size = nx * ny
    counts = {name: rng.poisson(5 + 10 * k, size=size).astype(float) for k, name in enumerate(ELEMENTS)}
    live = np.full(size, live_s) * rng.uniform(0.9, 1.1, size)
    with h5py.File(path, "w") as f:
        f["Manufacturer"] = np.array([b"Oxford Instruments"])
        f["Format Version"] = np.array([b"6.0"])
        idx = f.create_dataset("Index", data=np.array([b"1"]))
        idx.attrs["Type"] = b"Single"
        eds = f.create_group("1/EDS")
        h = eds.create_group("Header")
        h["X Cells"] = np.array([[nx]], np.int32)
        h["Y Cells"] = np.array([[ny]], np.int32)
        h["X Step"] = np.array([[step_um]], np.float32)
        h["Y Step"] = np.array([[step_um]], np.float32)
        h["Start Channel"] = np.array([[-100.0]], np.float32)
        h["Channel Width"] = np.array([[10.0]], np.float32)
        h["Number Channels"] = np.array([[64]], np.int32)
        h["Project Label"] = np.array([b"test"])
        d = eds.create_group("Data")
        d["Live Time"] = live.reshape(size, 1).astype(np.float32)
        wi = d.create_group("Window Integral")
        for name, z in ELEMENTS.items():
            cps = counts[name] / live
            if nan_corner:
                cps[0] = np.nan
            ds = wi.create_dataset(name, data=cps.reshape(size, 1).astype(np.float32))
            ds.attrs["Atomic Number"] = np.int32(z)
            ds.attrs["X-ray Line"] = name.split()[1].encode()
        if spectrum:
            d.create_dataset("Spectrum", data=rng.poisson(2, size=(size, 64)).astype(np.int32))
    return {"counts": counts, "live": live}


def test_element_maps_become_counts_with_pixel_size(tmp_path):
    p = tmp_path / "map.h5oina"
    truth = write_h5oina(p)
    da = ionscope.read(p)
    assert da.dims == ("y", "x", "element") and da.shape == (6, 8, 3)
    assert [str(e) for e in da.element.values] == sorted(ELEMENTS)
    assert da.attrs["units"] == "counts" and da.attrs["pixel_size_source"] == "h5oina header"
    assert float(da.x[1] - da.x[0]) == pytest.approx(0.25)
    # counts per second × live time gives back the counts, row by row from the top-left corner
    fe = da.sel(element="Fe Ka1").values
    assert np.allclose(fe.ravel(), truth["counts"]["Fe Ka1"], rtol=1e-5)
    assert da.attrs["energy_axis_ev"] == {"start": -100.0, "width": 10.0, "channels": 64}


def test_spectrum_image_with_energy_axis(tmp_path):
    p = tmp_path / "map.h5oina"
    write_h5oina(p)
    da = ionscope.read(p, spectrum=True)
    assert da.dims == ("y", "x", "energy") and da.shape == (6, 8, 64)
    assert float(da.energy[0]) == -100.0 and float(da.energy[1] - da.energy[0]) == 10.0


def test_outside_pixels_stay_nan_and_pixel_size_can_be_declared(tmp_path):
    p = tmp_path / "map.h5oina"
    write_h5oina(p, nan_corner=True)
    da = ionscope.read(p, pixel_size_um=0.5)
    assert np.isnan(da.values[0, 0]).all() and np.isfinite(da.values[1:]).all()
    assert da.attrs["pixel_size_source"] == "declared" and float(da.x[1] - da.x[0]) == pytest.approx(0.5)


def test_bad_files_raise_format_errors(tmp_path):
    p = tmp_path / "bad.h5oina"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(FormatError, match="HDF5"):
        ionscope.read(p)
    q = tmp_path / "noeds.h5oina"
    with h5py.File(q, "w") as f:
        f["Index"] = np.array([b"1"])
        f.create_group("1/EBSD/Data")
        f.create_group("1/EBSD/Header")
    with pytest.raises(FormatError, match="no EDS"):
        ionscope.read(q)
    r = tmp_path / "short.h5oina"
    write_h5oina(r, spectrum=False)
    with h5py.File(r, "a") as f:
        del f["1/EDS/Header/X Cells"]
        f["1/EDS/Header/X Cells"] = np.array([[9]], np.int32)
    with pytest.raises(FormatError, match="X Cells × Y Cells"):
        ionscope.read(r)
    with pytest.raises(FormatError, match="no Spectrum"):
        ionscope.read(r, spectrum=True, format="h5oina")


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    import builtins

    p = tmp_path / "map.h5oina"
    write_h5oina(p, spectrum=False)
    real = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("no h5py")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(UnsupportedError, match=r"ionscope\[eds\]"):
        ionscope.read(p)


def test_cli_reports_a_corrupt_file_in_one_line(tmp_path, cli):
    p = tmp_path / "x.h5oina"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\1" * 64)
    code, _, err = cli("info", p)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "x.h5oina" in err


def test_truncated_files_fail_cleanly(tmp_path):
    p = tmp_path / "map.h5oina"
    write_h5oina(p)
    data = p.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 100):
        q = tmp_path / f"cut{cut}.h5oina"
        q.write_bytes(data[:cut])
        try:
            ionscope.read(q)
        except IonscopeError:
            pass
