"""EDS element maps: folders of element-named TIFFs and multi-page TIFFs, read as (y, x, element)."""

from __future__ import annotations

import numpy as np
import pytest

import ionscope
from ionscope.io.eds import element_of, looks_like_eds, read_bcf
from ionscope.model.errors import FormatError, UnsupportedError


@pytest.mark.parametrize(("name", "element"), [
    ("Fe Ka.tif", "Fe Ka"), ("O_K.tiff", "O K"), ("Map Ni La1.tif", "Ni La1"),
    ("EDS Layered Image 3 C Ka1_2.tif", "C Ka1"), ("NiKa.tif", "Ni Ka"), ("S.tif", "S"), ("overview.tif", None),
    ("SEM image.tif", None)])
def test_element_names_from_exports(name, element):
    assert element_of(name) == element


def _write_folder(folder, maps, pixel_um=0.4):
    import tifffile

    folder.mkdir()
    for name, plane in maps.items():
        tifffile.imwrite(folder / f"{name}.tif", plane, resolution=(1 / pixel_um, 1 / pixel_um), imagej=True,
                         metadata={"unit": "um"})
    return folder


def test_folder_of_element_tiffs(tmp_path):
    rng = np.random.default_rng(0)
    maps = {"Ni Ka": rng.poisson(20, (12, 10)).astype(np.uint16), "O K": rng.poisson(5, (12, 10)).astype(np.uint16)}
    folder = _write_folder(tmp_path / "maps", maps)
    assert looks_like_eds(folder)
    da = ionscope.read(folder)
    assert da.dims == ("y", "x", "element") and da.attrs["kind"] == "element_map"
    assert list(da["element"].values) == ["Ni Ka", "O K"]
    assert np.array_equal(da.sel(element="O K").values, maps["O K"])
    assert float(da["x"][1] - da["x"][0]) == pytest.approx(0.4)


def test_multipage_tiff_with_page_names(tmp_path):
    import tifffile

    path = tmp_path / "maps.tif"
    with tifffile.TiffWriter(path) as tw:
        for name in ("Li K", "F Ka", "P Ka"):
            tw.write(np.full((8, 9), len(name), np.uint16), extratags=[(285, "s", 0, name, True)])
    assert looks_like_eds(path)
    da = ionscope.read(path, format="eds-tiff", pixel_size_um=0.25)
    assert list(da["element"].values) == ["Li K", "F Ka", "P Ka"]
    assert da.attrs["pixel_size_source"] == "declared"


def test_bad_eds_folders(tmp_path):
    import tifffile

    folder = tmp_path / "mixed"
    folder.mkdir()
    tifffile.imwrite(folder / "Fe Ka.tif", np.zeros((4, 4), np.uint16))
    tifffile.imwrite(folder / "O K.tif", np.zeros((5, 4), np.uint16))
    with pytest.raises(FormatError, match="differ in shape"):
        ionscope.read(folder, format="eds")
    tifffile.imwrite(folder / "overview.tif", np.zeros((4, 4), np.uint16))
    assert not looks_like_eds(folder)
    with pytest.raises(FormatError, match="no element symbol"):
        ionscope.read(folder, format="eds")


def test_bcf_needs_the_optional_reader(tmp_path):
    try:
        import rsciio  # noqa: F401
    except ImportError:
        path = tmp_path / "x.bcf"
        path.write_bytes(b"\0" * 64)
        with pytest.raises(UnsupportedError, match="RosettaSciIO"):
            read_bcf(path)
    else:  # pragma: no cover - with the optional extra installed
        path = tmp_path / "x.bcf"
        path.write_bytes(b"\0" * 64)
        with pytest.raises(FormatError):
            read_bcf(path)


def test_eds_maps_register_onto_the_sem(pair, cli, tmp_path):
    """EDS maps of the simulated area (the ion counts relabelled as elements) register like ion images."""
    sims = pair["sims_da"]
    names = {"^7Li+": "O K", "^58Ni+": "Ni Ka", "C2H3O+": "C Ka"}
    folder = _write_folder(tmp_path / "eds", {names[str(p)]: sims.sel(peak=p).values.astype(np.uint16)
                                              for p in sims["peak"].values})
    out = tmp_path / "t.json"
    code, _, err = cli("correlate", "register", pair["sem"], folder, "--out", out)
    assert code == 0, err
    from ionscope.correlate.transform import load_transform

    ct = load_transform(out)
    m = pair["truth"].truth["matrix"]
    pts = ct.moving.grid.centres()[::29]
    err_um = np.sqrt(np.mean(np.sum((ct.map(pts) - (pts @ m[:2, :2].T + m[:2, 2])) ** 2, axis=1)))
    assert err_um < 0.5 * ct.moving.grid.pixel_um[0]
