"""Bad input to the depth-resolved diffusion commands: one line naming the file or option, exit code 2.

Covers, for every command that takes them: a tracer or other isotope that is not in the data, a time
without a unit (or in a unit that is not a time), a cube without a depth axis, and data that is not a
(scan, y, x, peak) cube where one is needed.
"""

import numpy as np
import pandas as pd
import pytest

import ionscope


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from ionscope.synth.diffusion import isotope_exchange_cube

    d = tmp_path_factory.mktemp("bad_input")
    cube = isotope_exchange_cube((10, 2, 2), seed=1)[0]
    out = {"cube": ionscope.save(cube, d / "cube.zarr"),
           "no_depth": ionscope.save(isotope_exchange_cube((10, 2, 2), seed=1, depth_axis=False)[0],
                                     d / "no_depth.zarr"),
           "image": ionscope.save(cube.isel(scan=0, drop=True), d / "image.zarr"),
           "csv": d / "profile.csv", "no_depth_csv": d / "no_depth.csv", "dir": d}
    counts = {"Li6": [100.0, 80.0, 60.0], "Li7": [900.0, 920.0, 940.0]}
    pd.DataFrame({"depth_nm": [0.0, 10.0, 20.0], **counts}).to_csv(out["csv"], index=False)
    pd.DataFrame({"x": [0.0, 10.0, 20.0], **counts}).to_csv(out["no_depth_csv"], index=False)
    return out


CASES = [
    ("map: other isotope absent", ["diffusion", "map", "{cube}", "--isotopes", "^18O-,^17O-", "--time", "1h",
                                   "--out", "{dir}/a.zarr"], "'^17O-' is not in the data"),
    ("map: time in metres", ["diffusion", "map", "{cube}", "--isotopes", "^18O-,^16O-", "--time", "1m", "--out",
                             "{dir}/b.zarr"], "cannot convert 'm'"),
    ("map: no depth axis", ["diffusion", "map", "{no_depth}", "--isotopes", "^18O-,^16O-", "--time", "1h",
                            "--out", "{dir}/c.zarr"], "no depth axis"),
    ("map: not a cube", ["diffusion", "map", "{image}", "--isotopes", "^18O-,^16O-", "--time", "1h", "--out",
                         "{dir}/d.zarr"], "expected a 3-D depth profile"),
    ("fraction: tracer absent", ["diffusion", "fraction", "{csv}", "--isotopes", "Li5,Li7"], "'Li5' is not in"),
    ("fraction: other absent", ["diffusion", "fraction", "{csv}", "--isotopes", "Li6,Li8"], "'Li8' is not in"),
    ("fraction: no depth axis", ["diffusion", "fraction", "{no_depth_csv}", "--isotopes", "Li6,Li7"],
     "column 'x' has no unit"),
    ("gb: other absent", ["diffusion", "gb", "{csv}", "--isotopes", "Li6,Li8", "--time", "1h", "--d-bulk", "1e-14",
                          "--grain-size", "4um"], "Li8 not found"),
    ("gb: time without unit", ["diffusion", "gb", "{csv}", "--isotopes", "Li6,Li7", "--time", "3600", "--d-bulk",
                               "1e-14", "--grain-size", "4um"], "'3600' has no unit"),
    ("gb: no depth axis", ["diffusion", "gb", "{no_depth_csv}", "--isotopes", "Li6,Li7", "--time", "1h",
                           "--d-bulk", "1e-14", "--grain-size", "4um"], "column 'x' has no unit"),
    ("fit: time without unit", ["diffusion", "fit", "{csv}", "--isotopes", "Li6,Li7", "--time", "3600"],
     "'3600' has no unit"),
    ("depth cube: not a cube", ["depth", "cube", "{image}", "--out", "{dir}/e.zarr", "--interface",
                                "^18O-:falling"], "expected a 3-D depth profile"),
]


@pytest.mark.parametrize("args, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_line_exit_2(cli, files, args, message):
    code, _, err = cli(*(a.format(**{k: str(v) for k, v in files.items()}) for a in args))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not any((files["dir"] / f"{n}.zarr").exists() for n in "abcde")  # no output on failure


def test_time_without_unit_refused_before_reading(cli, files, tmp_path):
    """The unit check comes before the cube is read: an unreadable cube is not what is reported."""
    (tmp_path / "unreadable.zarr").mkdir()
    code, _, err = cli("diffusion", "map", str(tmp_path / "unreadable.zarr"), "--isotopes", "^18O-,^16O-",
                       "--time", "3600", "--out", str(tmp_path / "D.zarr"))
    assert code == 2 and "'3600' has no unit" in err and np.size(err.strip().splitlines()) == 1
