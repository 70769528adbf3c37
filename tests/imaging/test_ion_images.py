"""Ion images from named species."""

import json

import pytest


def test_peaks_given_as_ion_names_use_their_exact_mz():
    from ionscope.library.windows import peak_positions, peak_windows
    from ionscope.model import ValidationError

    mz, labels = peak_positions(["^7Li+", 58.9332, "Li2F+"])
    # 7Li atom 7.016003 u minus one electron (0.000549 u); Li2F+ = 2·7.016003 + 18.998403 − mₑ
    assert mz == pytest.approx([7.015455, 58.9332, 33.029861], abs=5e-5)  # the isotope table is AME to 5e-5 u
    assert labels == ["^7Li+", "58.9332", "Li2F+"]
    with pytest.raises(ValidationError):
        peak_windows(["Xx+"], tolerance_ppm=50)


@pytest.mark.realdata
def test_peaks_outside_the_measured_range_warn(cli):
    from ..conftest import shared_data

    path = shared_data("imzml", "Example_Continuous.imzML")  # measured m/z 100–800
    code, out, err = cli("image", "extract", path, "--peaks", "7.016,152", "--tolerance-ppm", "50", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert any("7.016" in w and "outside the measured range" in w for w in doc["warnings"])
    assert not any("152" in w and "outside" in w for w in doc["warnings"])


def test_exported_peak_images_are_selected_by_ion_name():
    """A (y, x, peak) export is selected by ion names as well as by m/z (names resolved to their exact m/z)."""
    import numpy as np

    from ionscope.imaging import ion_images
    from ionscope.library.windows import peak_positions
    from ionscope.model.arrays import make_ion_image

    li7, f = peak_positions(["^7Li+", "F-"])[0]
    grid = np.stack([np.full((4, 5), 1.0), np.full((4, 5), 2.0), np.full((4, 5), 3.0)], axis=-1)
    images = make_ion_image(grid, ["a", "b", "c"], pixel_size_um=(1.0, 1.0), mz=np.array([li7, 12.0, f]))
    by_name = ion_images(images, ["F-", "^7Li+"], tolerance_da=0.01)
    by_mz = ion_images(images, [f, li7], tolerance_da=0.01)
    assert list(by_name["peak"].values) == ["c", "a"]
    np.testing.assert_array_equal(by_name.values, by_mz.values)


def test_extract_text_result_on_stdout(cli, tmp_path):
    """The per-peak totals are the result: stdout, with the tier line; stderr holds only warnings."""
    import numpy as np

    import ionscope
    from ionscope.model.arrays import make_ion_image

    grid = np.stack([np.full((4, 5), 1), np.full((4, 5), 2)], axis=-1).astype(np.int64)
    path = tmp_path / "img.zarr"
    ionscope.save(make_ion_image(grid, ["a", "b"], pixel_size_um=(1.0, 1.0), mz=np.array([12.0, 13.0])), path)
    code, out, err = cli("image", "extract", path, "--peaks", "12,13", "--tolerance", "0.1")
    assert code == 0, err
    assert "m/z" in out and "counts per pixel" in out and "per pixel" not in err


def test_the_unit_follows_the_data_counts_only_for_integer_counts(cli, tmp_path):
    """Normalised (non-integer) intensities are not counts, even where the file's header says so."""
    import numpy as np

    import ionscope
    from ionscope.imaging.summary import ion_image_summary
    from ionscope.model.arrays import make_ion_image

    grid = np.stack([np.full((4, 5), 0.346359), np.full((4, 5), 0.25)], axis=-1)
    images = make_ion_image(grid, ["a", "b"], pixel_size_um=(1.0, 1.0), mz=np.array([12.0, 13.0]))
    images.attrs["units"] = "counts"  # what an imzML header declares for normalised spectra
    res = ion_image_summary(images, None, "imaging.ion_images")
    total = res["peaks"]["a"]["total_counts"]
    assert res["intensity_unit"] == "1" and total.unit == "1" and total.uncertainty is None
    assert any("not integer counts" in w for w in res.warnings)
    counts = make_ion_image(np.rint(grid * 10).astype(np.int64), ["a", "b"], pixel_size_um=(1.0, 1.0),
                            mz=np.array([12.0, 13.0]))
    res = ion_image_summary(counts, None, "imaging.ion_images")
    assert res["peaks"]["a"]["total_counts"].unit == "counts" and res["peaks"]["a"]["total_counts"].uncertainty > 0
    path = tmp_path / "norm.zarr"
    ionscope.save(images, path)
    code, out, err = cli("image", "extract", path, "--peaks", "12", "--tolerance", "0.1")
    assert code == 0, err
    assert "counts" not in out.split("reliability")[0].replace("not counts", "") and "normalised" in out


@pytest.mark.realdata
def test_real_imzml_float_intensities_are_not_counts(cli):
    from ..conftest import shared_data

    path = shared_data("imzml", "Example_Continuous.imzML")  # float intensities, header says detector counts
    code, out, err = cli("image", "extract", path, "--peaks", "152", "--tolerance", "0.5", "--json")
    assert code == 0, err
    peak = json.loads(out)["results"]["peaks"]["152.0000"]["total_counts"]
    assert peak["unit"] == "1" and peak["uncertainty"] is None
