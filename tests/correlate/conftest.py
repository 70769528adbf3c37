"""Small correlative pairs (SEM 256², SIMS 51² at 4× the pixel size) written as files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_pair(folder: Path, *, seed: int = 1, rotation_deg: float = 8.0, shift_um: tuple[float, float] = (1.5, -1.0),
               shape: tuple[int, int] = (256, 256)) -> dict:
    """SEM TIFF with pixel size, SEM TIFF without, phase TIFF, SIMS Zarr, and the truth."""
    import tifffile

    import ionscope
    from ionscope.synth.correlative import correlative_pair

    folder.mkdir(parents=True, exist_ok=True)
    sem, sims, truth = correlative_pair(shape, seed=seed, rotation_deg=rotation_deg, shift_um=shift_um)
    tifffile.imwrite(folder / "sem.tif", sem.values, resolution=(10.0, 10.0), imagej=True, metadata={"unit": "um"})
    tifffile.imwrite(folder / "sem_nopx.tif", sem.values)
    tifffile.imwrite(folder / "phase.tif", truth.truth["phase"].astype(np.uint8))
    ionscope.save(sims, folder / "sims.zarr", force=True)
    return {"sem": folder / "sem.tif", "sem_nopx": folder / "sem_nopx.tif", "phase": folder / "phase.tif",
            "sims": folder / "sims.zarr", "truth": truth, "sem_da": sem, "sims_da": sims}


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict:
    return write_pair(tmp_path_factory.mktemp("pair"))


@pytest.fixture(scope="module")
def registered(pair, tmp_path_factory) -> dict:
    """The pair registered once through the CLI."""
    from ionscope.cli.main import main

    out = tmp_path_factory.mktemp("reg") / "t.json"
    assert main(["--quiet", "correlate", "register", str(pair["sem"]), str(pair["sims"]), "--out", str(out)]) == 0
    return {**pair, "transform": out}
