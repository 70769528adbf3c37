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
    assert "m/z" in out and "in total" in out and "in total" not in err
