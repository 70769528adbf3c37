"""The console example proposed for the README runs as written (each line in a fresh folder, as
``tests/test_readme.py`` runs README lines)."""

from __future__ import annotations

import re
import shlex

import pytest

from ..conftest import SHARED_DATA
from ..test_readme import _scratch

_PROFILE = "../shared/data/iontof_depth_profiles/MAPI-stack/I241209m_A_MAPI_1f-1nA_pos-B4.txt"
EXAMPLE = "\n".join([
    "```console",
    "$ ionscope sample init                   # a commented sample.yaml: fill it in, put it beside the data "
    "or pass --sample FILE",
    f"$ ionscope depth layers {_PROFILE} --catalog-db results.sqlite",
    "$ ionscope info demo-output/data/composite_cross_section.zarr --json --catalog-db results.sqlite   "
    '# "reliability": {"tier": "unknown", …}: no sample history',
    "```",
    "",
])


def _lines() -> list[str]:
    block = re.search(r"```console\n(.*?)```", EXAMPLE, re.S).group(1)
    return [line[2:] for line in block.splitlines() if line.startswith("$ ionscope ")]


@pytest.mark.slow
@pytest.mark.parametrize("command", _lines())
def test_example_runs_as_written(command, cli, demo_output, tmp_path_factory, monkeypatch):
    if "../shared/" in command and not SHARED_DATA.exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    work = _scratch(tmp_path_factory, demo_output)
    monkeypatch.chdir(work)
    code, out, err = cli(*shlex.split(command, comments=True)[1:])
    assert code == 0, err
    if "--catalog-db" in command:
        assert "catalogued as entry 1 in results.sqlite" in err and (work / "results.sqlite").exists()
        assert "tier unknown" in out or '"tier": "unknown"' in out
