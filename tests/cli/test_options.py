"""Shared options and renamed options: the old spelling works, is hidden, and warns on stderr only."""

from __future__ import annotations

import json
import re

import click
import pytest
import typer

from ionscope.model.errors import ValidationError

HAVEN = ["diffusion", "haven", "--dstar", "6e-13", "--sigma", "3e-4", "--n", "1e22", "--T", "298"]


def _commands() -> list[tuple[str, click.Command]]:
    from ionscope.cli.main import _add_groups, app

    if not app.registered_groups:
        _add_groups(None)
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: str) -> None:
        subs = getattr(command, "commands", {})
        if not subs:
            found.append((path, command))
        for name, sub in subs.items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def test_shared_options_have_one_help_text_everywhere():
    helps: dict[str, set[str]] = {"--json": set(), "--force": set()}
    for _, command in _commands():
        for p in command.params:
            for opt in getattr(p, "opts", ()):
                if opt in helps:
                    helps[opt].add(p.help or "")
    assert helps["--json"] and helps["--force"]
    # correlate defines its own (owned elsewhere): allow at most that one other wording
    assert len(helps["--json"]) <= 2 and len(helps["--force"]) <= 2, helps


def test_square_brackets_in_help_texts_are_printed(cli):
    # rich reads [word] as markup and drops it: pip install 'ionscope[ml]' came out as 'ionscope'
    checked = 0
    for path, command in _commands():
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        wanted = {re.sub(r"\\(?=\[)", "", m) for t in texts for m in re.findall(r"\\?\[[^\[\]]*\]", t)}
        if not wanted:
            continue
        code, out, _ = cli(*path.split(), "--help")
        flat = " ".join(out.split())
        missing = {w for w in wanted if " ".join(w.split()) not in flat}
        assert code == 0 and not missing, (path, missing)
        checked += 1
    assert checked >= 2  # micro generate and tomo train name the ml extra


def test_every_hidden_old_spelling_has_its_new_option_on_the_same_command():
    seen = 0
    for path, command in _commands():
        visible = {o for p in command.params if not getattr(p, "hidden", False) for o in getattr(p, "opts", ())}
        for p in command.params:
            if getattr(p, "hidden", False) and (p.help or "").startswith("Deprecated spelling of "):
                new = p.help.removeprefix("Deprecated spelling of ").rstrip(".")
                assert new in visible, f"{path}: {p.opts[0]} points at {new}, which the command lacks"
                seen += 1
    assert seen >= 10  # tol-ppm, tol-da (×2), dstar-err, sigma-err, normalise (×7), area-cm2 (×2), …


def test_old_spelling_gives_the_same_result_with_a_warning_on_stderr(cli):
    code, new_out, new_err = cli(*HAVEN, "--dstar-uncertainty", "5e-14", "--json")
    assert code == 0 and "deprecated" not in new_err
    code, old_out, old_err = cli(*HAVEN, "--dstar-err", "5e-14", "--json")
    assert code == 0
    assert "--dstar-err is deprecated" in old_err and "--dstar-uncertainty" in old_err
    new, old = json.loads(new_out), json.loads(old_out)  # stdout is the JSON object alone
    assert new["results"]["H_R"] == old["results"]["H_R"]
    assert new["results"]["H_R"]["uncertainty"] is not None


def test_old_spelling_in_text_mode_keeps_stdout_clean(cli):
    code, out, err = cli(*HAVEN, "--sigma-err", "1e-5")
    assert code == 0 and "H_R" in out
    assert "deprecated" not in out and "--sigma-err is deprecated" in err


def test_both_spellings_at_once_is_an_error(cli):
    code, _, err = cli(*HAVEN, "--dstar-err", "5e-14", "--dstar-uncertainty", "5e-14")
    assert code == 2 and "not both" in err


@pytest.mark.parametrize("old", ["--dstar-err", "--sigma-err"])
def test_old_spelling_is_hidden_from_help(cli, old):
    code, out, _ = cli("diffusion", "haven", "--help")
    assert code == 0 and old not in out and old.replace("-err", "-uncertainty") in out


def test_denoise_takes_a_length_and_the_old_micrometre_spelling_agrees(cli, tmp_path):
    import numpy as np
    import tifffile

    from ionscope.synth.fibsem import image_stack, three_phase_electrode

    vol, _ = three_phase_electrode((6, 24, 24), seed=3)
    stack, _ = image_stack(vol.values, seed=4)
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, stack.values.astype(np.float32))
    common = ["--phases", "pore,cbd,nmc", "--pixel-size", "100nm", "--slice-thickness", "100nm", "--json"]
    code, new, err = cli("tomo", "segment", src, "--out", tmp_path / "a.tif", "--denoise", "50nm", *common)
    assert code == 0, err
    import ionscope
    from ionscope.model.arrays import spacing_of

    written = ionscope.read(tmp_path / "a.tif")  # the TIFF goes through ionscope.io: its voxel size reads back
    np.testing.assert_allclose(spacing_of(written), (0.1, 0.1, 0.1), rtol=1e-6)
    code, old, err = cli("tomo", "segment", src, "--out", tmp_path / "b.zarr", "--denoise-um", "0.05", *common)
    assert code == 0 and "--denoise-um is deprecated" in err
    assert json.loads(new)["results"]["volume_fraction"] == json.loads(old)["results"]["volume_fraction"]
    code, _, err = cli("tomo", "segment", src, "--out", tmp_path / "c.zarr", "--denoise", "0.05", *common)
    assert code == 2  # a bare number is refused: the length needs its unit


def test_an_option_of_one_value_given_twice_is_refused(cli):
    """``--elements Ru --elements Pt`` had kept Pt and dropped Ru silently: one line, exit 2; options that take
    several values (``-r Na+ -r K+``) and flags may repeat."""
    code, _, err = cli("spectrum", "identify", "P_any.txt", "--elements", "Ru", "--elements=Pt")
    assert code == 2 and "--elements is given 2 times" in err, err
    from ionscope.cli.main import _click_command, _refuse_repeated_options

    def commands(group, path=()):
        for name, cmd in (getattr(group, "commands", None) or {}).items():
            yield from commands(cmd, (*path, name)) if getattr(cmd, "commands", None) else [((*path, name), cmd)]

    checked = 0
    for path, cmd in commands(_click_command()):
        for p in cmd.params:
            if getattr(p, "param_type_name", "") != "option" or getattr(p, "is_flag", False) or p.count:
                continue
            args = [*path, p.opts[0], "1", p.opts[-1], "2"]
            if p.multiple:
                _refuse_repeated_options(_click_command(), args)
                continue
            with pytest.raises(ValidationError, match="given 2 times"):
                _refuse_repeated_options(_click_command(), args)
            checked += 1
    assert checked > 50


def test_a_reference_given_twice_is_refused_and_explicit_references_are_used_alone(cli, tmp_path):
    """``-r Na+ -r Na+`` had used Na⁺ twice; ``-r`` given, the calibration uses those ions alone (lock masses only
    with --lock-elements), as the option says."""
    import numpy as np

    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C3H5+": 3e4, "K+": 2e4,
                            "Ru+": 5e4}, shots=None, seed=0, t0_offset=0.5, k_rel_offset=2e-5)
    path = tmp_path / "P_s.npz"
    np.savez(path, mz=spec.mz.values, counts=spec.values, channel=spec.channel.values)
    code, _, err = cli("spectrum", "calibrate", path, "-r", "Na+", "-r", "Na+")
    assert code == 2 and "'Na+' is given twice" in err, err
    code, out, err = cli("spectrum", "calibrate", path, "-r", "Na+", "-r", "C3H5+", "-r", "K+", "-r", "CH3+", "--json")
    assert code == 0, err
    used = {r["ion"] for r in json.loads(out)["results"]["references"]}
    assert used == {"Na+", "C3H5+", "K+", "CH3+"}, used
