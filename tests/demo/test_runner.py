"""``ionscope demo`` writes the simulated input of every section into ``data/``, lists them, and
``ionscope info`` opens each of them."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_every_section_leaves_its_simulated_input_in_data(demo_output):
    files = json.loads((demo_output / "results.json").read_text())["data_files"]
    readme = (demo_output / "data" / "README.md").read_text()
    for name, info in files.items():
        assert (demo_output / "data" / name).exists(), name
        assert f"`data/{name}`" in readme and info["what"]
        assert not info["try"] or info["try"].startswith("ionscope ")
    # a depth profile, a spectrum, an operando series, a FIB-SEM stack and a labelled volume, a diffusion
    # profile and a 3-D cube, besides the images, events and correlative pair
    for name in ("depth_profile.zarr", "spectrum.zarr", "operando_series.zarr", "fibsem_stack.tif",
                 "fibsem_phases.zarr", "diffusion_profile.csv", "depth_cube.zarr"):
        assert name in files, name
    companions = {"README.md", "drifting_run.ibd", "drifting_run.grd.json", "correlative"}
    top = {p.name for p in (demo_output / "data").iterdir()} - companions
    assert top <= set(files), f"written but not listed: {top - set(files)}"


@pytest.mark.slow
def test_info_opens_every_file_the_demo_writes(demo_output, cli):
    files = json.loads((demo_output / "results.json").read_text())["data_files"]
    opened = 0
    for name, info in files.items():
        if not info["info"]:
            continue
        code, out, err = cli("info", demo_output / "data" / name, "--json")
        assert code == 0, f"{name}: {err[-500:]}"
        assert json.loads(out)["results"]
        opened += 1
    assert opened >= 10


@pytest.mark.slow
def test_the_command_listed_for_each_file_runs(demo_output, cli, tmp_path_factory, monkeypatch):
    """Every file of data/README.md has a ``try`` command, and each runs as written beside the demo's folder
    (``a && b`` runs a, then b)."""
    import shlex

    rows = [line.split(" | ") for line in (demo_output / "data" / "README.md").read_text().splitlines()
            if line.startswith("| `data/")]
    assert len(rows) == len(json.loads((demo_output / "results.json").read_text())["data_files"])
    empty = [r[0] for r in rows if not r[-1].strip(" |`")]
    assert not empty, f"no command to try for {empty}"
    work = tmp_path_factory.mktemp("try")
    (work / "demo-output").symlink_to(demo_output, target_is_directory=True)
    monkeypatch.chdir(work)
    for command in sorted({r[-1].strip(" |`") for r in rows}):
        for part in command.split(" && "):
            code, _, err = cli(*shlex.split(part)[1:])
            assert code == 0, f"{part}\n{err[-1000:]}"
