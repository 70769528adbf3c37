"""``micro generate`` as library calls: the request is checked before anything is generated."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from ionscope.micro.generate_request import GenerationRequest, _volume_shape, generate_from_sections, generation_request
from ionscope.model.errors import OutputExistsError, ValidationError
from ionscope.model.result import Result


def _section(seed: int = 0, n: int = 96) -> np.ndarray:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    a = ndimage.gaussian_filter(rng.standard_normal((n, n)), 3.0, mode="wrap")
    return (a < np.quantile(a, 0.4)).astype(np.uint8)


@pytest.fixture
def section(tmp_path):
    path = tmp_path / "sec.tif"
    tifffile.imwrite(path, _section())
    return path


def test_volume_shape():
    assert _volume_shape(16, None) == (16, 16, 16)
    assert _volume_shape(None, "8,16,32") == (8, 16, 32)
    for size, shape, match in ((None, None, "either"), (16, "8,8,8", "either"), (None, "8,8", "Z,Y,X"),
                               (None, "a,b,c", "whole numbers"), (4, None, "≥ 8"), (2048, None, "1024³")):
        with pytest.raises(ValidationError, match=match):
            _volume_shape(size, shape)


def test_request_loads_the_image_and_its_phases(section, tmp_path):
    req = generation_request(tmp_path / "v.zarr", section, size=16, spacing="0.5um", phases="pore=0,solid=1")
    assert isinstance(req, GenerationRequest) and not req.anisotropic
    assert req.shape == (16, 16, 16) and req.pixel_um == pytest.approx(0.5)
    assert dict(req.phases) == {"pore": 0, "solid": 1} and req.sections["image"].shape == (96, 96)
    req = generation_request(tmp_path / "v.zarr", sections={"xy": section, "xz": section, "yz": section}, size=16,
                             spacing="0.5um")
    assert req.anisotropic and set(req.sections) == {"xy", "xz", "yz"} and dict(req.phases) == {"phase0": 0,
                                                                                               "phase1": 1}


def test_bad_requests_fail_before_generating(section, tmp_path):
    out = tmp_path / "v.zarr"
    cases = [({"size": 16}, "v.npy", "must end in .zarr"),
             ({"size": 16, "sections": {"xy": section}}, "v.zarr", "not both"),
             ({"size": 16, "image": None, "sections": {"xy": section}}, "v.zarr", "missing --xz, --yz"),
             ({"size": 16, "image": None}, "v.zarr", "give a 2-D label image"),
             ({"size": 16, "phases": "a=0,b=7"}, "v.zarr", "phase b does not occur"),
             ({"size": 16, "iterations": 0}, "v.zarr", "--iterations"),
             ({"size": 16, "sweeps": 0.0}, "v.zarr", "--sweeps")]
    for kwargs, name, match in cases:
        kwargs = {"image": section, "spacing": "0.5um", **kwargs}
        with pytest.raises(ValidationError, match=match):
            generation_request(tmp_path / name, **kwargs)
    with pytest.raises(ValidationError, match="records no pixel size") as info:
        generation_request(out, section, size=16)
    assert info.value.path == str(section)
    out.mkdir()
    with pytest.raises(OutputExistsError):
        generation_request(out, section, size=16, spacing="0.5um")


@pytest.mark.slow
def test_generate_from_sections_writes_the_volume_and_returns_one_result(section, tmp_path):
    import ionscope

    req = generation_request(tmp_path / "v.zarr", section, size=16, spacing="0.5um", range_px=24)
    res = generate_from_sections(req)
    assert isinstance(res, Result) and res.kind == "micro.generate"
    assert res.output == str(tmp_path / "v.zarr") and res.shape == [16, 16, 16]
    assert abs(res.difference["phase0"]["volume_fraction"].value) < 5e-3
    assert any("isotropic structure is assumed" in w for w in res.warnings)
    vol = ionscope.read(tmp_path / "v.zarr")
    assert vol.shape == (16, 16, 16) and set(np.unique(vol.values)) == {0, 1}
