"""Arrhenius uncertainty columns and unused columns, the kelvin check of ``haven --T``, cited equations."""

import importlib
import inspect
import json
import pkgutil
import re

import pandas as pd
import pytest

import ionscope.diffusion

T_K = [600.0, 650.0, 700.0, 750.0, 800.0]
D = [1.0e-12, 4.5e-12, 1.1e-11, 3.2e-11, 7.0e-11]
SIGMA = [1e-13, 2e-12, 1e-12, 3e-12, 2e-11]  # unequal: the weighted fit differs from the unweighted one


def _arrhenius(cli, tmp_path, **extra):
    path = tmp_path / "arr.csv"
    pd.DataFrame({"T_K": T_K, "D_cm2_s": D, **extra}).to_csv(path, index=False)
    code, out, err = cli("diffusion", "arrhenius", path, "--json")
    return code, (json.loads(out) if code == 0 else None), err + out  # --json errors go to stdout


@pytest.mark.parametrize("name", ["D_err", "D_sigma", "dD", "D_uncertainty", "d_err", "dD_cm2_s",
                                  "D_uncertainty_cm2_s"])
def test_arrhenius_uncertainty_spellings_weight_the_fit(cli, tmp_path, name):
    code, ref, err = _arrhenius(cli, tmp_path, D_err_cm2_s=SIGMA)
    assert code == 0, err
    code, env, err = _arrhenius(cli, tmp_path, **{name: SIGMA})
    assert code == 0, err
    assert env["results"]["Ea"]["uncertainty"] == pytest.approx(ref["results"]["Ea"]["uncertainty"], rel=1e-12)
    assert env["results"]["Ea"]["value"] == pytest.approx(ref["results"]["Ea"]["value"], rel=1e-12)
    code, plain, err = _arrhenius(cli, tmp_path)
    assert plain["results"]["Ea"]["value"] != pytest.approx(env["results"]["Ea"]["value"], rel=1e-6)
    assert env["results"]["uncertainty_column"] == name


def test_arrhenius_m2_s_uncertainty_is_converted(cli, tmp_path):
    code, ref, _ = _arrhenius(cli, tmp_path, D_err_cm2_s=SIGMA)
    code, env, err = _arrhenius(cli, tmp_path, D_err_m2_s=[s * 1e-4 for s in SIGMA])
    assert code == 0, err
    assert env["results"]["Ea"]["uncertainty"] == pytest.approx(ref["results"]["Ea"]["uncertainty"], rel=1e-9)


def test_arrhenius_unused_columns_are_reported(cli, tmp_path):
    code, env, err = _arrhenius(cli, tmp_path, D_stdev=SIGMA, sample=list("abcde"))
    assert code == 0, err
    assert env["results"]["unused_columns"] == ["D_stdev", "sample"]
    assert any("'D_stdev'" in w and "not used" in w for w in env["warnings"])
    assert any("'sample'" in w and "not used" in w for w in env["warnings"])
    path = tmp_path / "arr.csv"
    code, out, err = cli("diffusion", "arrhenius", path)
    assert code == 0 and "'D_stdev' is not used" in err


@pytest.mark.parametrize("extra,match", [
    ({"D_err": SIGMA, "dD_cm2_s": SIGMA}, "several uncertainty columns"),
    ({"D_err": [0.1] * 5}, "relative"),
])
def test_arrhenius_ambiguous_or_relative_uncertainty_is_refused(cli, tmp_path, extra, match):
    code, _, err = _arrhenius(cli, tmp_path, **extra)
    assert code == 2 and match in err and "arr.csv" in err


def test_haven_bare_celsius_temperature_advice_fits_the_option(cli):
    args = ("diffusion", "haven", "--dstar", "1e-12", "--sigma", "1e-3", "--n", "1e22")
    code, _, err = cli(*args, "--T", "25")
    assert code == 2
    assert "--T" in err and "298.15 K" in err and "25 degC" in err and "column" not in err
    code, out, err = cli(*args, "--T", "25 degC", "--json")
    assert code == 0, err
    assert json.loads(out)["parameters"]["T"]["value"] == pytest.approx(298.15)


def test_check_kelvin_default_advice_names_no_table():
    from ionscope.diffusion.transport import check_kelvin
    from ionscope.model.errors import ValidationError

    with pytest.raises(ValidationError) as exc:
        check_kelvin(25.0)
    assert "column" not in str(exc.value) and "273.15" in str(exc.value)


EQ = re.compile(r"\beqs?\.\s*\d")


def _commands():
    from ionscope.cli.diffusion import app

    return [c.name or c.callback.__name__ for c in app.registered_commands]


@pytest.mark.parametrize("command", _commands())
def test_help_equations_name_their_paper(cli, command):
    """Every 'eq. N' in a diffusion command's help has a DOI (or a book with its year) within reach."""
    code, out, err = cli("diffusion", command, "--help")
    assert code == 0, err
    text = re.sub(r"[\s│]+", " ", out)
    for m in EQ.finditer(text):
        window = text[max(0, m.start() - 200): m.end() + 200]
        assert "doi:" in window or "Crank 1975" in window, (command, window)


def test_docstring_equations_name_their_paper():
    """Every docstring of ionscope.diffusion citing an equation names its source in the same docstring."""
    bad = []
    for info in pkgutil.iter_modules(ionscope.diffusion.__path__):
        mod = importlib.import_module(f"ionscope.diffusion.{info.name}")
        objs = [mod] + [o for o in vars(mod).values() if (inspect.isfunction(o) or inspect.isclass(o))
                        and getattr(o, "__module__", "") == mod.__name__]
        for o in objs:
            doc = inspect.getdoc(o) or ""
            if EQ.search(doc) and not re.search(r"doi:|Crank 1975", doc):
                bad.append(getattr(o, "__qualname__", mod.__name__))
    assert not bad
