"""Electrode-scale transport against exact cases: parallel channels, series layers, identical pores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from ionscope.micro.transport import effective_coefficient, electrode_tortuosity


def _channels(n=(16, 16, 24), width=2, pitch=5):
    """Identical square channels along x, away from the side faces: every channel has the same
    perimeter-to-area ratio, so the charging current divides in proportion to cross-section."""
    m = np.zeros(n, bool)
    for z0 in range(1, n[0] - width, pitch):
        for y0 in range(1, n[1] - width, pitch):
            m[z0:z0 + width, y0:y0 + width, :] = True
    return m


def test_single_phase_effective_conductivity_and_macmullin():
    m = _channels()
    lab = m.astype(np.uint8)
    r = effective_coefficient(lab, {"solid": 0, "pore": 1}, {"pore": 2.0}, "x", (1.0, 1.0, 1.0), tol=1e-5)
    # straight channels: k_eff = k0 ε, τ = 1, N_M = 1/ε
    assert r["effective"] == pytest.approx(2.0 * m.mean(), rel=1e-4)
    assert r["tortuosity"] == pytest.approx(1.0, rel=1e-4)
    assert r["macmullin"] == pytest.approx(1 / m.mean(), rel=1e-4)
    across = effective_coefficient(lab, {"solid": 0, "pore": 1}, {"pore": 2.0}, "z", (1.0, 1.0, 1.0))
    assert across["effective"] is None and "do not connect" in across["reason"]


def test_two_phase_combination_in_series_is_the_harmonic_mean():
    lab = np.zeros((6, 6, 20), np.uint8)
    lab[:, :, 10:] = 1
    r = effective_coefficient(lab, {"a": 0, "b": 1}, {"a": 1.0, "b": 4.0}, "x", (1.0, 1.0, 1.0), tol=1e-5)
    # two equal layers in series: k_eff = 2 / (1/1 + 1/4) (exact with harmonic face conductances)
    assert r["effective"] == pytest.approx(2 / (1 + 0.25), rel=1e-4)
    assert "macmullin" not in r


def test_electrode_tortuosity_of_identical_channels_is_one():
    # 1-D transmission line: Re Z(ω→0) = R_ion/3; with n voxels the discrete sum gives
    # (1/2 + (n−1)(2n−1)/(6n)) / (n/3) = 1.00125 for n = 24 (source at voxel centres)
    m = _channels()
    n = m.shape[2]
    r = electrode_tortuosity(m, "x", tol=1e-6)
    assert r["electrode_tortuosity"] == pytest.approx((0.5 + (n - 1) * (2 * n - 1) / (6 * n)) / (n / 3), rel=1e-4)


def test_electrode_tortuosity_exceeds_one_for_unequal_channels():
    # a thin and a thick channel: the thin one holds more interface per pore volume, draws more
    # charging current through a higher resistance, so τ_e > τ = 1 (Nguyen et al. 2020)
    m = np.zeros((12, 12, 24), bool)
    m[1:2, 1:2, :] = True
    m[4:10, 4:10, :] = True
    assert electrode_tortuosity(m, "x", tol=1e-6)["electrode_tortuosity"] > 1.05


def test_transport_cli(cli, tmp_path):
    m = _channels()
    path = tmp_path / "ch.tif"
    tifffile.imwrite(path, m.astype(np.uint8))
    code, out, err = cli("micro", "transport", path, "--phases", "solid=0,pore=1", "--spacing", "1um",
                         "--coefficients", "pore=1.2", "--unit", "S/m", "--directions", "x,z",
                         "--electrode-axis", "x", "--json")
    assert code == 0, err
    res = json.loads(out)["results"]
    assert res["x"]["effective"]["unit"] == "S/m"
    assert res["x"]["effective"]["value"] == pytest.approx(1.2 * m.mean(), rel=2e-2)
    assert res["z"]["effective"] is None
    assert res["electrode_tortuosity"]["value"] == pytest.approx(1.0, rel=2e-2)
    code, _, err = cli("micro", "transport", path, "--spacing", "1um", "--coefficients", "pore=x")
    assert code == 2 and "NAME=NUMBER" in err


def test_transport_properties_gathers_directions_with_units_and_reasons():
    from ionscope.micro.phases import label_volume
    from ionscope.micro.transport import transport_properties
    from ionscope.model.errors import ValidationError

    m = _channels()
    vol = label_volume(m.astype(np.uint8), {"solid": 0, "pore": 1}, 0.5)
    stages = []

    def stage(name, total):
        import contextlib

        stages.append(name)
        return contextlib.nullcontext()

    res = transport_properties(vol, {"pore": 2.0}, unit="S/m", directions=["x", "z"], electrode_axis="x",
                               tol=1e-5, stage=stage)
    assert stages == ["effective coefficient x", "effective coefficient z", "electrode tortuosity x"]
    x = res["x"]
    assert x["effective"].unit == "S/m"
    assert x["effective"].value == pytest.approx(2.0 * m.mean(), rel=1e-4)
    assert x["tortuosity"].value == pytest.approx(1.0, rel=1e-4)
    assert res["z"]["effective"] is None and res.warnings  # channels along x do not connect along z
    assert res["electrode_tortuosity"].value == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(ValidationError, match="direction must be"):
        transport_properties(vol, {"pore": 2.0}, directions=["w"])
