import numpy as np
import pytest

from ionscope.graphics.panels import _scale_bar_um, ion_image_panels
from ionscope.model.arrays import make_ion_image


@pytest.mark.parametrize(("width", "bar"), [(100.0, 20.0), (37.0, 5.0), (0.9, 0.1), (512.0, 100.0)])
def test_scale_bar_is_a_round_length_of_at_most_a_fifth_of_the_field(width, bar):
    assert _scale_bar_um(width) == pytest.approx(bar)
    assert _scale_bar_um(width) <= width / 5


def test_panels_one_axis_per_peak_with_a_scale_bar_label():
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(0)
    images = make_ion_image(rng.poisson(5, (16, 20, 3)), ["^7Li+", "LiF_2-", "total"], pixel_size_um=0.5)
    fig = ion_image_panels(images, ncols=2)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3
    assert [ax.get_title() for ax in shown] == ["⁷Li⁺", "LiF₂⁻", "total"]
    assert all(any(t.get_text() == "2 µm" for t in ax.texts) for ax in shown)  # 10 µm field → 2 µm bar
