"""The tests mirror ``src/ionscope``: one folder per subpackage."""

from pathlib import Path

import ionscope

#: Subpackages tested elsewhere, and where.
ELSEWHERE = {"synth": "each simulator is tested beside the analysis it feeds (tests/<capability>/test_synth*.py)"}


def test_every_subpackage_has_a_test_folder():
    src = Path(ionscope.__file__).parent
    tests = Path(__file__).parent
    packages = sorted(p.name for p in src.iterdir() if (p / "__init__.py").is_file())
    missing = [p for p in packages if p not in ELSEWHERE and not (tests / p).is_dir()]
    assert not missing, f"subpackages without a tests/<name> folder: {missing}"
    stray = sorted(p.name for p in tests.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
                   and p.name not in packages and p.name not in ("contract", "fuzz", "examples", "property"))
    assert not stray, f"test folders that mirror no subpackage (and are not cross-cutting): {stray}"
