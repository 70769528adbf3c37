"""The output contract: one envelope for every command, schemas, quantities, errors under --json."""

from __future__ import annotations

import ast
import contextlib
import io
import json
from pathlib import Path

import jsonschema
import pytest

from ionscope.model.contract import COMMANDS, schema_files
from ionscope.model.provenance import sha256_of

from .checks import bare_physical_numbers

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"

#: Commands whose owners are rewriting them; they still print bare numbers. Strict: the mark fails
#: as soon as the command is fixed, so it is removed then.
NOT_YET_QUANTITIES: dict[str, str] = {}


def _run(*argv: object) -> tuple[int, str, str]:
    from ionscope.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def outputs(cases):
    """``kind → (exit code, parsed stdout, stderr)`` of every case run once with ``--json``."""
    done = {}
    for kind, argv in cases.items():
        code, out, err = _run(*argv, "--json")
        done[kind] = (code, json.loads(out) if out.strip() else None, err)
    return done


def _json_commands() -> set[str]:
    """Every command of the CLI that takes ``--json``, dotted."""
    import typer

    from ionscope.cli.main import app

    found: set[str] = set()

    def walk(cmd, prefix):
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*prefix, name])
        if any("--json" in getattr(p, "opts", ()) for p in getattr(cmd, "params", ())):
            found.add(".".join(prefix))

    walk(typer.main.get_command(app), [])
    return found


def test_every_json_command_has_a_schema_and_a_case(cases):
    commands = _json_commands()
    assert commands == set(COMMANDS), commands ^ set(COMMANDS)
    assert set(cases) == set(COMMANDS)


#: Commands without ``--json``: the interactive ones (a browser page, the guided tour); none may join it.
WITHOUT_JSON = {"demo", "view", "correlate.view"}


def test_every_command_that_writes_a_figure_has_json():
    """`depth plot` and `correlate overlay` print what they wrote (path, SHA-256, units) under --json."""
    import typer

    from ionscope.cli.main import app

    missing: set[str] = set()

    def walk(cmd, prefix):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*prefix, name])
        elif not any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            missing.add(".".join(prefix))

    walk(typer.main.get_command(app), [])
    assert missing <= WITHOUT_JSON, missing - WITHOUT_JSON
    assert {"depth.plot", "correlate.overlay"} <= _json_commands()


def test_figure_envelopes_name_the_figure_and_its_units(outputs, cases):
    from ionscope.model.provenance import sha256_of

    for kind in ("depth.plot", "correlate.overlay"):
        code, doc, err = outputs[kind]
        assert code == 0, err
        res = doc["results"]
        out = Path(res["output"])
        assert out.is_file() and res["sha256"] == sha256_of(out)
        assert str(out) not in {i["path"] for i in doc["inputs"]}
    plot = outputs["depth.plot"][1]["results"]
    assert plot["axis_unit"] == "s" and plot["intensity_unit"] == "counts" and plot["interfaces"]
    assert outputs["correlate.overlay"][1]["results"]["pixel_size"]["unit"] == "µm"


def test_written_files_are_named_with_sha256_and_size(outputs):
    """`operando report`, `sample init` and `sample export` print what they wrote: path, SHA-256, size; the
    file is not an input, and what it holds agrees with the envelope."""
    from ionscope.catalog.jsonld import sample_jsonld
    from ionscope.model.metadata import SampleHistory
    from ionscope.sample import load_history

    for kind in ("operando.report", "sample.init", "sample.export"):
        code, doc, err = outputs[kind]
        assert code == 0, err
        res = doc["results"]
        out = Path(res["output"])
        assert out.is_file() and res["sha256"] == sha256_of(out) and res["bytes"] == out.stat().st_size
        assert str(out) not in {i["path"] for i in doc["inputs"]}
    report = outputs["operando.report"][1]
    assert report["results"]["figures"] > 0 and report["results"]["sections"]
    # the report shows the same analysis `operando analyze` prints for the same inputs and options
    analyzed = outputs["operando.analyze"][1]["results"]
    assert report["results"]["capacity"] == analyzed["capacity"] and report["results"]["dose"] == analyzed["dose"]
    assert len(report["inputs"]) == 2 and report["warnings"]
    init = outputs["sample.init"][1]["results"]
    assert init["fields"] == list(SampleHistory.model_fields) and load_history(Path(init["output"])) == {}
    export = outputs["sample.export"][1]
    source = Path(export["results"]["sources"][0])
    assert [i["sha256"] for i in export["inputs"]] == [sha256_of(source)]
    written = json.loads(Path(export["results"]["output"]).read_text(encoding="utf-8"))
    assert written == sample_jsonld(load_history(source)) and export["results"]["properties"] == 3
    assert export["reliability"]["sample"] == load_history(source)


def test_schemas_in_docs_are_generated_and_current():
    files = schema_files()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    stale = sorted(n for n in files.keys() | on_disk.keys() if files.get(n) != on_disk.get(n))
    assert not stale, f"docs/schemas is stale for {stale}: run `make schemas`"


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_command_output_validates_against_its_schema(kind, outputs, cases):
    code, doc, err = outputs[kind]
    assert code == 0, err
    jsonschema.validate(doc, json.loads((SCHEMAS / f"{kind}.json").read_text(encoding="utf-8")))
    assert doc["kind"] == kind and doc["reliability"]["tier"] in ("A", "B", "C", "D", "unknown")
    given = [a for a in cases[kind] if isinstance(a, Path) and a.is_file() and a.suffix != ".zarr"]
    hashes = {i["sha256"] for i in doc["inputs"]}
    for path in given:
        if path.name not in {"cube.zarr", "aligned.zarr", "destriped.zarr", "seg.zarr", "cell.json", "model.ionseg",
                             "profile.svg", "overlay.png", "report.html", "template.yaml", "history.jsonld"}:
            assert sha256_of(path) in hashes, f"{kind}: input {path.name} has no SHA-256 in the envelope"


@pytest.mark.parametrize("kind", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=NOT_YET_QUANTITIES[k]))
                                  if k in NOT_YET_QUANTITIES else k for k in sorted(COMMANDS)])
def test_no_bare_physical_number(kind, outputs):
    code, doc, err = outputs[kind]
    assert code == 0, err
    assert bare_physical_numbers(doc["results"]) == []


def _null_uncertainty_paths(doc, path=""):
    """Dotted paths of every printed quantity with a finite value and ``"uncertainty": null``; a stored
    envelope inside the results (``catalog show``) carries its own notes and is skipped."""
    if isinstance(doc, dict):
        if "schema_version" in doc and "warnings" in doc:
            return []
        if set(doc) == {"value", "uncertainty", "unit"}:
            return [path] if doc["uncertainty"] is None and doc["value"] is not None else []
        return [p for k, v in doc.items() for p in _null_uncertainty_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _null_uncertainty_paths(v, f"{path}[{i}]")]
    return []


def test_a_quantity_without_uncertainty_has_a_note_and_no_warning(outputs):
    _, doc, _ = outputs["diffusion.haven"]
    assert doc["results"]["H_R"]["uncertainty"] is None
    assert doc["uncertainty_notes"]["H_R"] == {"kind": "not_estimated",
                                               "reason": "no uncertainties of D*, σ or n were given"}
    assert doc["uncertainty_notes"]["T"] == {"kind": "input", "reason": "the temperature is given, taken as exact"}
    assert not any(w.startswith("no uncertainty for") for w in doc["warnings"])


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_every_null_uncertainty_is_explained_in_the_notes(kind, outputs):
    """The contract, machine-checked: each quantity printed without an uncertainty has a note (and only those)."""
    code, doc, err = outputs[kind]
    assert code == 0, err
    entries = doc["results"] if isinstance(doc["results"], list) and doc["results"] and \
        isinstance(doc["results"][0], dict) and "uncertainty_notes" in doc["results"][0] else [doc]
    for entry in entries:
        assert sorted(entry["uncertainty_notes"]) == sorted(_null_uncertainty_paths(entry["results"])), kind
        unstated = [p for p, n in entry["uncertainty_notes"].items() if n["kind"] == "unstated"]
        warned = [w for w in entry["warnings"] if w.startswith("no uncertainty for")]
        assert bool(unstated) == bool(warned), (kind, unstated, warned)


def test_every_command_states_why_a_quantity_has_no_uncertainty(outputs):
    """No quantity of any command's output lacks an uncertainty without a stated reason (kind ``unstated``)."""
    unstated = {}
    for kind, (_, doc, _) in outputs.items():
        entries = doc["results"] if isinstance(doc["results"], list) and doc["results"] and \
            isinstance(doc["results"][0], dict) and "uncertainty_notes" in doc["results"][0] else [doc]
        found = [p for e in entries for p, n in e["uncertainty_notes"].items() if n["kind"] == "unstated"]
        if found:
            unstated[kind] = found
    assert unstated == {}


def test_only_unstated_reasons_are_warnings():
    from ionscope.model.result import NoUncertainty, Quantity, Result, envelope

    r = Result("x.y", {"mass": Quantity(6.015, None, "m/z", NoUncertainty.exact("tabulated isotopic mass")),
                       "limit": Quantity(12.0, None, "counts", NoUncertainty.bound("3σ upper limit")),
                       "spacing": Quantity(0.5, None, "µm", NoUncertainty.given("as given")),
                       "rms": Quantity(2.0, None, "ppm", "fewer than two ions"),
                       "area": [Quantity(1.0, None, "µm^2"), Quantity(2.0, 0.1, "µm^2")],
                       "nan": Quantity(float("nan"), None, "nm")}, ["a real concern"])
    doc = envelope("x.y", r)
    assert doc["uncertainty_notes"] == {
        "mass": {"kind": "exact", "reason": "tabulated isotopic mass"},
        "limit": {"kind": "bound", "reason": "3σ upper limit"},
        "spacing": {"kind": "input", "reason": "as given"},
        "rms": {"kind": "not_estimated", "reason": "fewer than two ions"},
        "area[0]": {"kind": "unstated", "reason": "the method gives no error estimate for it"}}
    assert doc["warnings"] == ["a real concern",
                               "no uncertainty for area[0]: the method gives no error estimate for it"]
    assert envelope("x.y", Result("x.y", {"rms": Quantity(2.0, None, "ppm", "one ion")}))["warnings"] == []


def test_checker_catches_the_old_shapes():
    assert bare_physical_numbers({"x": {"position": 1.0, "unit": "s"}})
    assert bare_physical_numbers({"species": [{"intensity": 3.0, "uncertainty": 1.0}]})
    assert bare_physical_numbers({"width_nm": 3.0, "drift_um": [1.0, 2.0]})
    assert not bare_physical_numbers({"width": {"value": 3.0, "uncertainty": None, "unit": "nm"}, "n_points": 4})


def test_errors_under_json_are_a_document_on_stdout(tmp_path):
    missing = tmp_path / "missing.txt"
    code, out, err = _run("depth", "layers", missing, "--species", "Au-", "--json")
    assert code == 2 and err == ""
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads((SCHEMAS / "error.json").read_text(encoding="utf-8")))
    assert doc["error"]["type"] == "InputNotFoundError" and doc["error"]["path"] == str(missing)
    code, out, err = _run("depth", "layers", missing, "--species", "Au-")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "missing.txt" in err


def test_usage_and_unit_errors_under_json(tmp_path):
    code, out, _ = _run("diffusion", "haven", "--dstar", "6e-13", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] in ("MissingParameter", "UsageError")
    profile = tmp_path / "p.txt"
    profile.write_text("x")
    code, out, _ = _run("depth", "layers", profile, "--species", "Au-", "--rates", "0.8 s", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "UnitError"


def test_rates_accept_units_and_are_echoed(cases, outputs):
    _, doc, _ = outputs["depth.layers"]
    assert doc["parameters"]["rates"] == [{"value": 0.8, "uncertainty": 0.05, "unit": "nm/s"}]
    assert all(lay["thickness"]["unit"] == "nm" for lay in doc["results"]["depth_layers"])


def test_common_has_no_heavy_imports_at_module_level():
    tree = ast.parse((ROOT / "src" / "ionscope" / "cli" / "common.py").read_text(encoding="utf-8"))
    top = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    assert not top & {"numpy", "xarray", "pandas", "dask", "scipy", "ionscope", "pint", "matplotlib"}, top


def test_options_parsed_with_a_unit_are_echoed_in_that_unit(outputs):
    params = outputs["diffusion.haven"][1]["parameters"]
    assert params["T"]["unit"] == "K" and abs(params["T"]["value"] - 298.15) < 1e-9  # given as '25 degC'
    assert params["dstar"] == {"value": 6e-13, "uncertainty": None, "unit": "cm^2/s"}
    assert outputs["operando.analyze"][1]["parameters"]["primary_current"]["unit"] == "pA"
    assert outputs["tomo.align"][1]["parameters"]["pixel_size"] == {"value": 0.1, "uncertainty": None, "unit": "µm"}


@pytest.mark.parametrize("argv", [
    ["tomo", "align", "{stack}", "--out", "{tmp}/a.zarr", "--pixel-size", "0.1"],
    ["image", "bin-events", "{grd}", "--nx", "24", "--ny", "20", "--k0", "2000", "--sf", "20000", "--peaks", "7.016",
     "--tolerance-ppm", "2000", "--out", "{tmp}/c.zarr", "--pixel-size", "0.39"],
    ["diffusion", "leclaire", "{gb}", "--time", "1e4s", "--d-bulk", "1e-14", "--delta", "0.5"],
    ["diffusion", "haven", "--dstar", "nan", "--sigma", "3e-7", "--n", "2.4e22", "--T", "298"],
])
def test_lengths_without_unit_and_non_finite_numbers_are_refused(argv, cases, tmp_path):
    paths = {"stack": cases["tomo.align"][2], "grd": cases["image.bin-events"][2], "gb": cases["diffusion.leclaire"][2],
             "tmp": tmp_path}
    code, out, _ = _run(*[a.format(**paths) for a in argv], "--json")
    err = json.loads(out)["error"]
    assert code == 2 and err["type"] == "UnitError"
    assert "finite" in err["message"] or ("no unit" in err["message"] and "0.39um" in err["message"])


def test_progress_shows_stage_done_total_and_is_silenced_by_quiet(monkeypatch):
    from rich.console import Console

    from ionscope.cli import common

    def render(quiet: bool) -> str:
        buf = io.StringIO()
        monkeypatch.setattr(common, "err_console", Console(file=buf, force_terminal=True, width=120))
        common.set_quiet(quiet)
        try:
            with common.progress("registering frames", total=8) as task:
                task.advance(3)
                task._progress.refresh() if task._progress else None
        finally:
            common.set_quiet(False)
        return buf.getvalue()

    shown = render(False)
    assert "registering frames" in shown and "3/8" in shown
    assert render(True) == ""


def test_quiet_is_a_global_option(outputs, cases):
    code, out, err = _run("--quiet", *cases["diffusion.arrhenius"])
    assert code == 0 and "Eₐ" in out


def test_envelope_of_a_batch_has_one_entry_per_input(tmp_path):
    from ionscope.model.provenance import make_provenance
    from ionscope.model.result import Quantity, Result, envelope

    results = []
    for i in range(2):
        f = tmp_path / f"in{i}.txt"
        f.write_text(str(i))
        results.append(Result("x.fit", {"D": Quantity(1e-12 * (i + 1), None, "cm^2/s",
                                                      why_no_uncertainty="a single point"),
                                        "D_cm2_s": 1e-12 * (i + 1)}, ["w"], make_provenance("x.fit", inputs=[f])))
    doc = json.loads(json.dumps(envelope("x.batch", results)))
    assert [e["inputs"][0]["sha256"] for e in doc["results"]] == [sha256_of(tmp_path / f"in{i}.txt") for i in range(2)]
    assert all(set(e["results"]) == {"D"} for e in doc["results"])  # the bare duplicate is left out
    assert doc["results"][0]["warnings"] == ["w"] and doc["uncertainty_notes"] == {}
    assert doc["results"][0]["uncertainty_notes"] == {"D": {"kind": "not_estimated", "reason": "a single point"}}
    assert doc["reliability"] == {"tier": "unknown"} and doc["schema_version"] == "2.0"


def test_suffixed_numbers_become_quantities_with_their_sigma():
    from ionscope.model.result import suffixed_to_quantities

    out = suffixed_to_quantities({"rotation_deg": [0.1, 0.2], "rotation_sigma_deg": [0.01, 0.02],
                                  "frames": [{"time_start_s": 0.0}], "n": 3}, "exact")
    assert out["rotation"].unit == "deg" and out["rotation"].uncertainty == [0.01, 0.02]
    assert out["frames"][0]["time_start"].why_no_uncertainty == "exact" and out["n"] == 3
    assert "rotation_sigma_deg" not in out


@pytest.mark.realdata
@pytest.mark.parametrize(("kind", "parts", "extra"), [
    ("depth.layers", ("iontof_depth_profiles", "MAPI-stack", "I241209zc_C_MAPI-dev_4f-3nA_pos-B-electrode1.txt"),
     ["--species", "Au+,Pb+,In+,Si+", "--axis", "fluence"]),
    ("spectrum.identify", ("iontof_spectra", "N_Ru-Pt_Bi1_1.txt"), ["--elements", "Ru,Pt,Pd"]),
    ("info", ("iontof_spectra", "N_Ru-Pt_Bi1_1.txt"), []),
])
def test_real_files_give_valid_envelopes(kind, parts, extra):
    from ..conftest import shared_data

    path = shared_data(*parts)
    code, out, err = _run(*kind.split("."), path, *extra, "--json")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads((SCHEMAS / f"{kind}.json").read_text(encoding="utf-8")))
    assert doc["inputs"] == [{"path": str(path), "sha256": sha256_of(path), "bytes": path.stat().st_size}]


def test_track_and_stage_name_each_step(monkeypatch):
    from rich.console import Console

    from ionscope.cli import common

    buf = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=buf, force_terminal=True, width=120))
    monkeypatch.setitem(common._state, "quiet", False)  # an earlier in-process command may have run with --quiet
    assert list(common.track(range(5), "binning events")) == list(range(5))
    with common.progress("NMF", total=3) as task:
        task.stage("MCR-ALS iterations", total=10)
        task.advance(4)
        task._progress.refresh()
    shown = buf.getvalue()
    assert "binning events" in shown and "5/5" in shown and "MCR-ALS iterations" in shown and "4/10" in shown


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_text_mode_never_prints_warnings_on_stdout(outputs, cases):
    """Every command whose JSON carries warnings, run again in text mode: stdout holds the output only.

    Warnings go to stderr (one ``warning:`` line each) or into the JSON object, never between the lines
    of a text result that a user may pipe into another program.
    """
    checked = []
    for kind, (code, doc, _) in outputs.items():
        if code != 0 or not doc or not doc.get("warnings"):
            continue
        code, out, err = _run(*cases[kind])
        if code == 2 and "--force" in err:  # the JSON run wrote the output already
            code, out, err = _run(*cases[kind], "--force")
        assert code == 0, (kind, err)
        flat = _flat(out)
        assert "warning:" not in flat.lower(), f"{kind}: a warning line on stdout:\n{out}"
        leaked = [w for w in doc["warnings"] if len(w) > 20 and _flat(w)[:40] in flat]
        assert not leaked, f"{kind}: warnings printed on stdout: {leaked}"
        checked.append(kind)
    assert len(checked) >= 5, checked  # the contract cases include warning-producing inputs


def test_the_2d_registration_validates_too(cases, tmp_path):
    """The ``correlate.register`` case is the 3-D pair; the 2-D pair (SEM image, ion images) the transfer
    case uses must give a valid envelope of the same schema."""
    d = cases["correlate.transfer"][2].parent
    code, out, err = _run("correlate", "register", d / "sem.tif", d / "sims.zarr", "--fixed-pixel-size", "0.1um",
                          "--out", tmp_path / "pair2d.json", "--json")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads((SCHEMAS / "correlate.register.json").read_text(encoding="utf-8")))
    assert bare_physical_numbers(doc["results"]) == []
