"""`image extract` on a flat pixels × channels ``.npz`` (a TRIFT export): read as y × x images of its channels."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "image.extract.json"


def _flat_npz(path: Path, ny: int = 5, nx: int = 7) -> tuple[Path, np.ndarray, np.ndarray]:
    """A y × x × channel count cube stored as TRIFT exports are converted: one row per pixel (x fastest),
    one column per unit-mass channel, ``mz`` the channel centres, ``xy`` = (x size, y size)."""
    rng = np.random.default_rng(4)
    masses = np.arange(1.0, 31.0) + 0.003 * np.arange(30)  # unit-mass channels with a small mass defect
    cube = rng.poisson(3.0, size=(ny, nx, masses.size)).astype(np.uint16)
    np.savez(path, counts_pixels_by_mz=cube.reshape(ny * nx, masses.size), mz=masses, xy=np.array([nx, ny]))
    return path, cube, masses


def test_a_flat_npz_gives_the_images_of_its_channels(tmp_path):
    from ionscope.imaging import ion_images

    path, cube, masses = _flat_npz(tmp_path / "flat.npz")
    images = ion_images(path, [7.0, 23.0], tolerance_da=0.3)
    assert images.dims == ("y", "x", "peak") and images.shape == (5, 7, 2)  # not square: the orientation is tested
    np.testing.assert_array_equal(images.values, cube[:, :, [6, 22]])
    np.testing.assert_allclose(images["mz"].values, masses[[6, 22]])


def test_the_cli_reads_a_flat_npz_with_json(cli, tmp_path):
    path, cube, _ = _flat_npz(tmp_path / "flat.npz")
    out = tmp_path / "images.zarr"
    code, text, err = cli("image", "extract", path, "--peaks", "7,23.05", "--tolerance", "0.3", "--out", out,
                          "--json")
    assert code == 0, err
    doc = json.loads(text)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    res = doc["results"]
    assert res["shape"] == [5, 7, 2] and res["output"] == str(out) and res["intensity_unit"] == "counts"
    totals = [p["total_counts"] for p in res["peaks"].values()]
    assert [t["value"] for t in totals] == [float(cube[:, :, 6].sum()), float(cube[:, :, 22].sum())]
    assert [t["uncertainty"] for t in totals] == pytest.approx([t["value"] ** 0.5 for t in totals])  # Poisson √N


def test_a_peak_between_channels_is_refused_and_a_repeated_pick_warned(cli, tmp_path):
    path, _, _ = _flat_npz(tmp_path / "flat.npz")
    code, text, _ = cli("image", "extract", path, "--peaks", "7.5", "--tolerance", "0.2", "--json")
    err = json.loads(text)["error"]
    assert code == 2 and err["path"] == str(path) and "7.5" in err["message"] and "away" in err["message"]
    code, text, err = cli("image", "extract", path, "--peaks", "7,7.01", "--tolerance", "0.3", "--json")
    doc = json.loads(text)
    assert code == 0, err
    assert len(doc["results"]["peaks"]) == 1 and any("already picked" in w for w in doc["warnings"])


def test_a_npz_that_is_not_a_flat_image_asks_for_dims(cli, tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, counts=np.ones((6, 4)))
    code, text, _ = cli("image", "extract", path, "--peaks", "7", "--tolerance", "0.3", "--json")
    err = json.loads(text)["error"]
    assert code == 2 and err["path"] == str(path) and "--dims" in err["message"]
    code, _, err = cli("image", "extract", path, "--peaks", "7", "--tolerance", "0.3", "--dims", "y,x")
    assert code == 2 and "peak" in err and len(err.strip().splitlines()) == 1


@pytest.mark.realdata
def test_the_real_trift_image_gives_its_channel_images(cli):
    """The PHI TRIFT-II poplar-wood image (Bioconductor tofsimsData, Lorenz et al.; GPL-3 data): 256 × 256
    pixels × 200 unit-mass channels. m/z 27 (C2H3+) and 43 (C2H3O+, C3H7+) are the unit-mass channels of
    wood's hydrocarbon fragments; each extracted image's total must equal its channel's column sum."""
    from ..conftest import shared_data

    path = shared_data("phi_trift_image", "poplar_wood_image.npz")
    with np.load(path) as d:
        counts, mz = d["counts_pixels_by_mz"], d["mz"]
    code, text, err = cli("image", "extract", path, "--peaks", "27,C2H3O+", "--tolerance", "0.5", "--json")
    assert code == 0, err
    doc = json.loads(text)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert doc["results"]["shape"] == [256, 256, 2]
    channels = [int(np.argmin(np.abs(mz - m))) for m in (27.0, 43.0)]
    totals = [p["total_counts"]["value"] for p in doc["results"]["peaks"].values()]
    assert totals == [float(counts[:, k].sum(dtype=np.int64)) for k in channels]
    assert doc["inputs"][0]["path"] == str(path) and len(doc["inputs"][0]["sha256"]) == 64


def test_without_a_tolerance_each_channel_holds_the_mz_nearest_to_it(cli, tmp_path):
    path, cube, mz = _flat_npz(tmp_path / "flat.npz")
    code, text, err = cli("image", "extract", path, "--peaks", f"{mz[6] + 0.3:.3f}", "--json")
    assert code == 0, err
    (peak,) = json.loads(text)["results"]["peaks"].values()
    assert peak["total_counts"]["value"] == float(cube[:, :, 6].sum())
    code, _, err = cli("image", "extract", path, "--peaks", f"{mz.max() + 5:g}")
    assert code == 2 and "outside the exported intervals" in err
