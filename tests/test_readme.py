"""Every ``ionscope`` command in the README's console blocks runs as written (exit code 0).

The commands run in a scratch folder laid out like the repository's: ``demo-output`` is one
``ionscope demo`` run and ``../shared`` the real instrument files (commands that need them skip when
they are absent). ``ionscope view`` starts a server and is checked by the viewer tests instead.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from .conftest import ROOT, SHARED_DATA, shared_data

FENCE = re.compile(r"```console\n(.*?)```", re.S)
PYTHON = re.compile(r"```python\n(.*?)```", re.S)


def readme_commands() -> list[str]:
    """The ``$ ionscope …`` lines of the README's console blocks, without their trailing comments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            if line.startswith("$ ionscope "):
                out.append(shlex.split(line[2:], comments=True))
    return [" ".join(shlex.quote(a) for a in cmd) for cmd in out]


def test_the_readme_has_runnable_examples():
    cmds = readme_commands()
    assert len(cmds) >= 10 and any(c.startswith("ionscope demo") for c in cmds)


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in readme_commands() if not c.startswith(("ionscope view",
                                                                                       "ionscope demo"))])
def test_readme_command_runs_as_written(command, cli, demo_output, tmp_path_factory, monkeypatch):
    if "../shared/" in command and not SHARED_DATA.exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    work = _scratch(tmp_path_factory, demo_output)
    monkeypatch.chdir(work)
    for before in _producers(command):  # a line reading what an earlier line wrote (tomo train → segment)
        assert cli(*shlex.split(before)[1:])[0] == 0, before
    args = shlex.split(command)[1:]
    code, out, err = cli(*args)
    assert code == 0, f"{command}\n{err[-2000:]}"
    assert out.strip() or any(Path(work).iterdir()), command


def _scratch(tmp_path_factory, demo_output) -> Path:
    """A folder laid out like the repository's: ``demo-output`` and ``../shared`` beside it."""
    work = tmp_path_factory.mktemp("readme") / "ionscope"
    work.mkdir()
    (work / "demo-output").symlink_to(demo_output, target_is_directory=True)
    (work.parent / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    return work


@pytest.mark.slow
def test_readme_python_runs_as_written(demo_output, tmp_path_factory, monkeypatch):
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    blocks = PYTHON.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks
    monkeypatch.chdir(_scratch(tmp_path_factory, demo_output))
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_the_readme_tour_does_not_rerun_the_demo_into_an_existing_folder():
    """``make demo`` has written demo-output/ already: a README ``ionscope demo`` into it needs --force."""
    make_out = re.search(r"^OUT\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    demos = [shlex.split(c) for c in readme_commands() if c.startswith("ionscope demo")]
    assert demos
    for args in demos:
        out = args[args.index("--out") + 1] if "--out" in args else "demo-output"
        assert out != make_out or "--force" in args, " ".join(args)


def _outputs(args: list[str]) -> list[str]:
    """The files a README command writes (its ``--out``-like options and ``convert``'s target)."""
    opts = ("--out", "--table", "--csv", "--export-itk", "--catalog-db", "--labels")
    outs = [args[i + 1] for i, a in enumerate(args[:-1]) if a in opts]
    if args[1] == "convert":
        outs.append(args[3])
    if args[1:3] == ["sample", "init"]:
        outs.append("sample.yaml")
    outs = [o + "/report.html" if o == "demo-output" else o for o in outs]
    return [o for o in outs if not o.startswith(("../", "/", "demo-output/"))]


def test_the_readme_outputs_are_git_ignored():
    """Running the README's commands in a clone leaves no untracked files behind (.gitignore names them)."""
    import subprocess

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    cmds = [shlex.split(c) for c in readme_commands()] + [["ionscope", "sample", "init"]]
    outs = sorted({o for args in cmds for o in _outputs(args)})
    assert "results.csv" in outs and "transform.tfm" in outs
    res = subprocess.run(["git", "check-ignore", "--no-index", "--stdin", "-v", "-n"], cwd=ROOT, check=False,
                         input="\n".join(outs), capture_output=True, text=True)
    missed = [line.split("\t")[-1] for line in res.stdout.splitlines() if line.startswith("::")]
    assert not missed, f"not git-ignored: {missed}"


def _producers(command: str) -> list[str]:
    """The earlier README lines that write a file ``command`` reads."""
    cmds = readme_commands()
    args = shlex.split(command)
    earlier = cmds[: cmds.index(command)] if command in cmds else []
    return [c for c in earlier if set(_outputs(shlex.split(c))) & set(args[2:]) and not c.startswith("ionscope demo")]


QUOTED_ROW = re.compile(r"^\| an IONTOF spectrum export \| "
                        r"`ionscope (spectrum identify \S+ --elements \S+)` → (.*) \|$", re.M)


def test_the_readme_quotes_what_spectrum_identify_prints(cli):
    """The numbers the README quotes for its first spectrum command are the ones the command gives now."""
    row = QUOTED_ROW.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert row, "README row 'an IONTOF spectrum export' not found"
    args, quoted = shlex.split(row.group(1)), row.group(2)
    detected = {el: (int(v), int(u)) for el, v, u in re.findall(r"\b([A-Z][a-z]?) (\d+) ± (\d+)", quoted)}
    limits = {el: int(v) for el, v in re.findall(r"\b([A-Z][a-z]?) not detected \(< (\d+)", quoted)}
    assert detected and limits, quoted
    path = shared_data("iontof_spectra", args[2])
    code, out, err = cli(*args[:2], path, *args[3:], "--json")
    assert code == 0, err[-2000:]
    got = {e["element"]: e for e in json.loads(out)["results"]["elements"]}
    for el, (value, sigma) in detected.items():
        assert got[el]["detected"], el
        i = got[el]["intensity"]
        assert (round(i["value"]), round(i["uncertainty"])) == (value, sigma), (el, i)
    for el, limit in limits.items():
        assert not got[el]["detected"], el
        assert round(got[el]["upper_limit"]["value"]) == limit, (el, got[el]["upper_limit"])


@pytest.mark.slow
def test_the_data_readme_commands_do_not_overwrite_the_readme_outputs(demo_output):
    """A user runs the README's tour and then the commands ``demo-output/data/README.md`` lists in the
    same folder: their outputs must differ (outputs are never overwritten without --force), and a
    clone must not be left with untracked files."""
    import subprocess

    text = (demo_output / "data" / "README.md").read_text(encoding="utf-8")
    data_cmds = [shlex.split(c) for c in re.findall(r"`(ionscope [^`]+)`", text)]
    assert data_cmds
    ours = {o for args in data_cmds for o in _outputs(args)}
    theirs = {o for args in (shlex.split(c) for c in readme_commands()) for o in _outputs(args)}
    assert not ours & theirs, sorted(ours & theirs)
    if (ROOT / ".git").exists():
        res = subprocess.run(["git", "check-ignore", "--no-index", "--stdin", "-v", "-n"], cwd=ROOT, check=False,
                             input="\n".join(sorted(ours)), capture_output=True, text=True)
        missed = [line.split("\t")[-1] for line in res.stdout.splitlines() if line.startswith("::")]
        assert not missed, f"not git-ignored: {missed}"
