"""Small valid files of every format ionscope reads: the seeds the fuzz suite mutates.

Each seed is built from scratch (writers of ionscope, tifffile, or the documented text layouts), is
a few kB, and reads without error; :data:`SEEDS` maps a format name to its builder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

PROFILE_TEXT = (
    "# Profile Smoothing is Disabled\n"
    "#\t\t\t\ttotal\t^119Sn+\tSnO+\tSnO+\tPb+ / ( In+ )\t\n"
    "#\t\t\t\tN/A\t118.9011\t135.8979\t135.9143\tN/A\t\n"
    "#Data Point #\tSputter Time (s)\tDose (ions)\tFluence (ions/cm^2)\tIntensity\tIntensity\tIntensity"
    "\tIntensity\tIntensity\t\n"
    + "".join(f"{i + 1}\t{1.5 * i}\t{1e9 * (i + 1):g}\t{4e11 * (i + 1):g}\t{100 + 7 * i}\t{i}\t{3 * i}\t{i % 4}"
              f"\t{'inf' if i == 2 else 0.5}\t\n" for i in range(20))
).replace("\n", "\r\n")

SPECTRUM_TEXT = ("# Binning: 200 channels\n# Deadtime Correction: on\nChannel\tm/z\tIntensity\n"
                 + "".join(f"{100 + 200 * i}\t{(0.02 + 0.013 * i) ** 2 * 1000:.6f}\t{(i * 37) % 101}\n"
                           for i in range(60)))

SPECTRUM_TABLE_TEXT = ("# units: \"counts\"\nm/z,intensity (counts)\n"
                       + "".join(f"{(0.02 + 0.013 * i) ** 2 * 1000:.6f},{(i * 37) % 101}\n" for i in range(60)))

MPT_COLUMNS = ["mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "time/s",
               "control/V/mA", "Ewe/V", "I/mA", "dQ/C", "(Q-Qo)/mA.h", "cycle number"]


def _mpt_text() -> str:
    header = ["EC-Lab ASCII FILE", "Nb header lines : 5", "", "Galvanostatic Cycling with Potential Limitation"]
    body = []
    for k in range(30):
        i_ma = 0.006 if k < 15 else -0.006
        vals = [1, 1, 0, 0, 0, 0, int(k >= 15), 120.0 * k, i_ma, 2.0 + 0.01 * k, i_ma, 0.0, 0.0, 0]
        body.append("\t".join(f"{x:.7E}" if isinstance(x, float) else str(x) for x in vals) + "\t")
    return "\r\n".join(header + ["\t".join(MPT_COLUMNS)] + body) + "\r\n"


def _csv_text() -> str:
    rows = ["# cell 7, 25 °C", "Test_Time(s),Voltage(V),Current(mA),Cycle_Index,Step_Index"]
    rows += [f"{60.0 * k},{3.0 + 0.01 * k:.4f},{1.0 if k < 12 else -1.0},1,{1 if k < 12 else 2}" for k in range(24)]
    return "\n".join(rows) + "\n"


def _text(name: str, text: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        p = folder / name
        p.write_bytes(text.encode("utf-8"))
        return p
    return build


def _grd(folder: Path) -> Path:
    from ionscope.io.grd import write_grd

    rng = np.random.default_rng(1)
    n = 400
    rec = np.stack([np.sort(rng.integers(0, 3, n)), rng.integers(0, 50, n), rng.integers(0, 8, n),
                    rng.integers(0, 8, n), rng.integers(1000, 30000, n)], axis=1)
    return write_grd(rec, folder / "run.grd")


def _bif6(folder: Path) -> Path:
    from ionscope.io.bif6 import write_bif6
    from ionscope.model.arrays import make_ion_image

    counts = np.arange(6 * 5 * 3, dtype=np.uint32).reshape(6, 5, 3)
    im = make_ion_image(counts, ["total", "7.0160", "58.9332"], pixel_size_um=2.0, mz=[0.0, 7.016, 58.9332])
    return write_bif6(im.assign_coords(interval_id=("peak", [0, 1, 2])), folder / "peaks.bif6")


def _tiff(folder: Path) -> Path:
    import tifffile

    p = folder / "stack.tif"
    vol = (np.arange(4 * 12 * 10) % 3 * 85).astype(np.uint8).reshape(4, 12, 10)
    tifffile.imwrite(p, vol, imagej=True, resolution=(1 / 0.39, 1 / 0.39),
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 0.5})
    return p


def _zarr(folder: Path) -> Path:
    from ionscope.io.zarr_store import save
    from ionscope.model.arrays import make_ion_image

    im = make_ion_image(np.arange(8 * 6 * 2, dtype=np.float32).reshape(8, 6, 2), ["a", "b"], pixel_size_um=1.0,
                        mz=[7.016, 58.93])
    return save(im, folder / "images.zarr", chunks={"y": 4, "x": 6, "peak": 2})


def _imzml(mode: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        from ionscope.io.imzml_write import write_imzml

        p = folder / f"{mode}.imzML"
        rng = np.random.default_rng(2)
        if mode == "continuous":
            import xarray as xr

            mz = np.linspace(100, 200, 40)
            cube = xr.DataArray(rng.poisson(3, (3, 4, 40)).astype(np.float32), dims=("y", "x", "mz"),
                                coords={"mz": mz})
            return write_imzml(cube, p, pixel_size_um=10.0)
        spectra = [(x, y, np.sort(rng.uniform(100, 200, 5 + x + y)), rng.poisson(5, 5 + x + y).astype(np.float32))
                   for y in range(3) for x in range(3)]
        return write_imzml(spectra, p, shape=(3, 3), mode="processed")
    return build


def _labels(folder: Path) -> Path:
    p = folder / "labels.npy"
    np.save(p, (np.arange(12 * 10) // 17).astype(np.int32).reshape(12, 10))
    return p


def _h5oina(folder: Path) -> Path:
    """An Oxford .h5oina EDS map after the published layout (h5py; an optional extra, in the dev set)."""
    import h5py

    p = folder / "map.h5oina"
    with h5py.File(p, "w") as f:
        f["Format Version"] = np.array([b"6.0"])
        f["Index"] = np.array([b"1"])
        h = f.create_group("1/EDS/Header")
        for name, value, dtype in (("X Cells", 5, np.int32), ("Y Cells", 4, np.int32), ("X Step", 0.5, np.float32),
                                   ("Y Step", 0.5, np.float32), ("Start Channel", -50.0, np.float32),
                                   ("Channel Width", 10.0, np.float32), ("Number Channels", 16, np.int32)):
            h[name] = np.array([[value]], dtype)
        d = f.create_group("1/EDS/Data")
        d["Live Time"] = np.full((20, 1), 0.01, np.float32)
        for k, el in enumerate(("O Ka1", "Fe Ka1")):
            d[f"Window Integral/{el}"] = (np.arange(20, dtype=np.float32).reshape(20, 1) + k) * 100
        d["Spectrum"] = (np.arange(20 * 16) % 7).reshape(20, 16).astype(np.int32)
    return p


#: Case → (builder, ``format=`` name to read with: explicit, so mutants reach the reader, not only sniffing).
SEEDS: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "iontof_profile": (_text("profile.txt", PROFILE_TEXT), "iontof-profile"),
    "iontof_spectrum": (_text("P_spectrum.txt", SPECTRUM_TEXT), "iontof-spectrum"),
    "spectrum_table": (_text("spectrum.csv", SPECTRUM_TABLE_TEXT), "spectrum-table"),
    "imzml_continuous": (_imzml("continuous"), "imzml"),
    "imzml_processed": (_imzml("processed"), "imzml"),
    "grd": (_grd, "grd"),
    "bif6": (_bif6, "bif6"),
    "tiff": (_tiff, "tiff"),
    "zarr": (_zarr, "zarr"),
    "cycling_mpt": (_text("log.mpt", _mpt_text()), "cycling"),
    "cycling_csv": (_text("log.csv", _csv_text()), "cycling"),
    "label_image": (_labels, "numpy"),
    "h5oina": (_h5oina, "h5oina"),
}


def copy_seed(seed: Path, folder: Path) -> Path:
    """Copy a seed (file, imzML pair or Zarr store) into ``folder``; return the copy's main path."""
    folder.mkdir(parents=True, exist_ok=True)
    if seed.is_dir():
        dst = folder / seed.name
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(seed, dst)
        return dst
    for part in [seed] + ([seed.with_suffix(".ibd")] if seed.suffix.lower() == ".imzml" else []):
        shutil.copyfile(part, folder / part.name)
    return folder / seed.name
