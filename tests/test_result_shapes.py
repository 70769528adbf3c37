"""One result shape: public analysis functions return a ``Result``, a labelled array or a named record.

Rule (docs/architecture.md, "Result shapes"): every function exported through ``__all__`` of an
analysis package and defined in that package has a return annotation, and the annotation names
none of the bare containers ``dict``, ``tuple``, ``list``, ``Mapping``, ``Sequence`` nor ``Any``. A
result is then one of

* :class:`ionscope.model.result.Result` or :class:`~ionscope.model.result.Quantity`;
* a labelled array or table (``xr.DataArray``, ``xr.Dataset``, ``pd.DataFrame``);
* an image, volume or label array (``np.ndarray``, a Dask array) whose meaning the docstring gives;
* a named record class of ionscope (a frozen dataclass such as ``MVAResult`` or ``FickSolution``);
* a scalar (``float``, ``int``, ``bool``, ``str``), a ``Path`` written, or ``None``.

Functions that return a mapping in a third party's own format are listed in ``EXEMPT`` with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

#: The analysis packages whose public functions follow the rule.
PACKAGES = ("micro", "depth", "diffusion", "imaging", "mva", "operando", "tomo")

#: Bare containers (and ``Any``, which hides the shape) not allowed in a return annotation.
BARE = re.compile(r"(?<![\w.])(dict|tuple|list|Mapping|Sequence|Any|Dict|Tuple|List)\b")

#: Public functions allowed to return a bare container, and why.
EXEMPT = {
    "ionscope.micro.pybamm_parameters": "PyBaMM's own parameter-set mapping (keys such as "
                                        "'Positive particle radius [m]'), passed on to pybamm.ParameterValues",
    "ionscope.micro.parse_phases": "parses the user's NAME=VALUE text into the phase-name → label mapping "
                                   "that every micro function takes as input",
    "ionscope.micro.check_phases": "the phase-name → label mapping (an input, checked), not a result",
    "ionscope.micro.select_metrics": "the names of the chosen metrics, an input to microstructure_metrics",
    "ionscope.micro.size_distribution": "micro.local_thickness is converted with the local-thickness work",
}


def public_functions(package: str):
    module = importlib.import_module(f"ionscope.{package}")
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj) and obj.__module__.startswith(f"ionscope.{package}."):
            yield f"ionscope.{package}.{name}", inspect.unwrap(obj)


def return_annotation(func) -> str | None:
    ann = func.__annotations__.get("return")
    if ann is None:
        return None
    return ann if isinstance(ann, str) else getattr(ann, "__name__", repr(ann))


@pytest.mark.parametrize("package", PACKAGES)
def test_public_analysis_functions_return_one_result_shape(package):
    found = list(public_functions(package))
    assert found, f"no public functions found in ionscope.{package}"
    bad = []
    for where, func in found:
        if where in EXEMPT:
            continue
        ann = return_annotation(func)
        if ann is None:
            bad.append(f"{where}: no return annotation")
        elif BARE.search(ann):
            bad.append(f"{where} -> {ann}")
    assert not bad, ("public analysis functions must return a Result, a labelled array or a named record "
                     "(tests/test_result_shapes.py says which shapes):\n" + "\n".join(bad))


def test_the_rule_catches_a_bare_container():
    def f() -> tuple[int, int]:
        return 1, 2

    assert BARE.search(return_annotation(f)) and BARE.search("dict[str, float] | None")
    assert BARE.search("Any") and not BARE.search("ManyThings")
    assert not BARE.search("Result") and not BARE.search("xr.DataArray | np.ndarray | None")


def test_exemptions_are_still_public():
    for where in EXEMPT:
        package, name = where.rsplit(".", 1)
        assert name in importlib.import_module(package).__all__, f"{where} is exempt but no longer public"
