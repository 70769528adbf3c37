import dataclasses
import json

import numpy as np
import pytest
import xarray as xr

from ionscope.model import (
    Quantity,
    Result,
    ValidationError,
    get_metadata,
    kind_of,
    make_depth_profile,
    make_ion_image,
    make_spectrum,
    make_volume,
    spacing_of,
)
from ionscope.model.provenance import make_provenance, sha256_of
from ionscope.model.units import UnitError, convert, parse_quantity


def test_constructors_put_dims_in_canonical_order_with_units():
    img = make_ion_image(np.zeros((3, 4, 5)), ["a", "b", "c"], pixel_size_um=0.5, dims=("peak", "y", "x"))
    assert img.dims == ("y", "x", "peak")
    assert img.coords["x"].attrs["units"] == "µm"
    assert np.allclose(img.x.values, [0.25, 0.75, 1.25, 1.75, 2.25])
    assert kind_of(img) == "ion_image"


def test_depth_profile_coordinates():
    prof = make_depth_profile(np.ones((4, 2)), ["Li+", "F-"], sputter_time_s=[0, 1, 2, 3],
                              dose_ions=[0, 1e9, 2e9, 3e9], fluence_ions_cm2=[0, 1e12, 2e12, 3e12])
    assert prof.sputter_time.attrs["units"] == "s"
    assert prof.fluence.attrs["units"] == "ions/cm^2"
    assert kind_of(prof) == "depth_profile"


def test_anisotropic_volume_spacing():
    vol = make_volume(np.zeros((2, 3, 4), np.uint8), (0.015, 0.005, 0.005), phases={"pore": 0, "nmc": 1})
    assert spacing_of(vol) == pytest.approx((0.015, 0.005, 0.005))
    assert vol.attrs["phases"] == {"pore": 0, "nmc": 1}


def test_spectrum_rejects_non_monotonic_mz():
    with pytest.raises(ValidationError, match="increase"):
        make_spectrum(np.ones(3), [1.0, 3.0, 2.0])


def test_unknown_dims_and_missing_units_are_rejected():
    with pytest.raises(ValidationError, match="match no ionscope data kind"):
        kind_of(xr.DataArray(np.zeros(3), dims=["foo"]))
    from ionscope.model import validate

    bad = xr.DataArray(np.zeros(3), dims=["mz"], coords={"mz": [1.0, 2.0, 3.0]})
    with pytest.raises(ValidationError, match="units"):
        validate(bad)


def test_metadata_is_validated_with_a_named_field():
    with pytest.raises(ValidationError, match="polarity"):
        make_spectrum(np.ones(2), [1.0, 2.0], acquisition={"polarity": "sideways"})
    with pytest.raises(ValidationError, match="pixel_size_um"):
        make_spectrum(np.ones(2), [1.0, 2.0], acquisition={"pixel_size_um": -1})
    spec = make_spectrum(np.ones(2), [1.0, 2.0], acquisition={"polarity": "negative", "primary_ion": "Bi3+"},
                         sample={"preparation": "cryo-fib", "measurement_mode": "operando"})
    assert get_metadata(spec, "acquisition").polarity == "negative"
    assert get_metadata(spec, "sample").measurement_mode == "operando"


def test_units():
    assert convert(1.0, "um", "nm") == pytest.approx(1000.0)
    assert convert(25.0, "°C", "K") == pytest.approx(298.15)
    assert parse_quantity("0.39um") == (0.39, "µm")
    assert parse_quantity("24 h") == (24.0, "h")
    with pytest.raises(UnitError):
        convert(1.0, "nm", "s")
    with pytest.raises(UnitError):
        parse_quantity("fast")


def test_result_record_is_frozen_and_serialises(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("x")
    prov = make_provenance("test.op", inputs=[f], parameters={"a": np.float64(1.5), "arr": np.arange(2)})
    assert prov["inputs"][0]["sha256"] == sha256_of(f)
    assert prov["parameters"] == {"a": 1.5, "arr": [0, 1]}
    res = Result("test", {"D": Quantity(1e-12, 2e-14, "cm^2/s"), "n": np.int64(3)}, ["careful"], prov)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.kind = "other"
    with pytest.raises(TypeError):
        res.values["D"] = 1
    d = json.loads(res.to_json())
    assert d["D"] == {"value": 1e-12, "uncertainty": 2e-14, "unit": "cm^2/s"}
    assert d["n"] == 3 and d["warnings"] == ["careful"] and d["provenance"]["version"]
    assert f"{res['D']:.2g}" == "(1e-12 ± 2e-14) cm^2/s"


def test_quantity_nan_becomes_null():
    assert Quantity(float("nan"), None, "s").to_dict()["value"] is None
