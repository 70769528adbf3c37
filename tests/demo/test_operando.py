"""Tests of the operando demo section's saved inputs."""

import numpy as np

from ionscope.demo.operando import region_labels, regions_array
from ionscope.io.operando_series import load_labels
from ionscope.synth.operando import operando_cell


def test_saved_regions_are_the_analysed_ones(tmp_path):
    """The region file written into data/ reads back (as ``--regions`` reads it) to the labels the
    section analyses: the particles and both interphases, on the series grid."""
    import ionscope

    (series, _), truth = operando_cell(seed=0)
    labels = region_labels(truth)
    assert labels.max() == np.asarray(truth.truth["labels"]).max() + 2
    path = tmp_path / "regions.zarr"
    ionscope.save(regions_array(labels, series), path, force=True)
    back = load_labels(path)
    np.testing.assert_array_equal(back, labels)
    assert back.shape == (series.sizes["y"], series.sizes["x"])
