"""Fuzz every reader with seeded mutants; no crash, no hang, no allocation beyond what the file justifies.

The default run draws :data:`EXAMPLES` (50) mutants per format; ``make fuzz`` sets
``IONSCOPE_FUZZ_EXAMPLES`` higher and ``IONSCOPE_FUZZ_REPORT`` to a JSON file of the outcome counts
that ``tests/fuzz/report.py`` turns into ``docs/reliability.md``. Mutants are drawn by hypothesis
with ``derandomize=True``: the same sequence on every run, shrunk to a minimal edit on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionscope.io.checks import TruncatedWarning
from ionscope.model.errors import IonscopeError
from tests.fuzz.harness import capped_address_space, read_outcome
from tests.fuzz.mutate import mutant
from tests.fuzz.seeds import SEEDS, copy_seed

EXAMPLES = int(os.environ.get("IONSCOPE_FUZZ_EXAMPLES", "50"))
REPORT = os.environ.get("IONSCOPE_FUZZ_REPORT")
#: Extra reads of some seeds with reader options that make the reader do more (binning at once).
VARIANTS = {
    "grd_binned": ("grd", {"k0": "0", "sf": "1000", "nx": "8", "ny": "8", "peaks": "4,100,400", "tol_da": "0.5"}),
    "imzml_processed_binned": ("imzml_processed", {"mz_bin": "1", "checksum": "false"}),
    "imzml_continuous_nochecksum": ("imzml_continuous", {"checksum": "false"}),
    "profile_detected": ("iontof_profile", {"format": None}),
    "tiff_detected": ("tiff", {"format": None}),
}
CASES = {name: (name, {}) for name in SEEDS} | VARIANTS
BINARY_SUFFIXES = (".grd", ".bif6", ".tif", ".ibd", ".npy")
STATS: dict[str, Counter] = defaultdict(Counter)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("seeds")
    out = {}
    for name, (build, _fmt) in SEEDS.items():
        (root / name).mkdir()
        out[name] = build(root / name)
    yield out
    if REPORT:
        Path(REPORT).parent.mkdir(parents=True, exist_ok=True)
        Path(REPORT).write_text(json.dumps({k: dict(v) for k, v in sorted(STATS.items())}, indent=1))


def _parts(seed: Path) -> list[str]:
    """Files of a seed that mutants may change, relative to the seed's folder."""
    if seed.is_dir():
        return sorted(str(f.relative_to(seed.parent)) for f in seed.rglob("*") if f.is_file())
    if seed.suffix.lower() == ".imzml":
        return [seed.name, seed.with_suffix(".ibd").name]
    return [seed.name]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.slow
def test_reader_survives_mutants(case: str, seeds: dict[str, Path], tmp_path: Path) -> None:
    """Each mutant either reads (all lazy parts computed) or raises an IonscopeError, within the
    time limit and memory budget of :mod:`tests.fuzz.harness`."""
    seed_name, options = CASES[case]
    options = dict(options)
    seed, fmt = seeds[seed_name], options.pop("format", SEEDS[seed_name][1])
    parts = _parts(seed)
    __import__("ionscope").read(seed, format=fmt, **options)  # warm-up: compiled kernels load outside the alarm
    assert read_outcome(seed, format=fmt, **options) == ("ok", None), "the unmutated seed must read"

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        work = tmp_path / "m"
        shutil.rmtree(work, ignore_errors=True)
        copy = copy_seed(seed, work)
        part = work / data.draw(st.sampled_from(parts), label="part")
        if copy.is_dir() and data.draw(st.integers(0, 9), label="delete?") == 0:
            part.unlink()
            op = "delete"
        else:
            raw = part.read_bytes()
            op, new = data.draw(mutant(raw, text=not part.name.endswith(BINARY_SUFFIXES) and b"\0" not in raw[:64]),
                                label="mutation")
            part.write_bytes(new)
        outcome, failure = read_outcome(copy, format=fmt, **options)
        STATS[case][outcome] += 1
        STATS[case]["mutants"] += 1
        assert failure is None, f"{op} of {part.name}: {failure}"

    with capped_address_space():
        check()


SALVAGE = ("iontof_profile", "grd", "bif6", "imzml_continuous", "imzml_processed")


@pytest.mark.parametrize("name", SALVAGE)
def test_salvage_reads_truncated_files(name: str, seeds: dict[str, Path], tmp_path: Path) -> None:
    """A truncated file read with ``salvage=True`` returns the complete part with a TruncatedWarning
    (or, cut inside the header, raises an IonscopeError); without it, it is refused."""
    seed, fmt = seeds[name], SEEDS[name][1]
    part = seed.with_suffix(".ibd") if seed.suffix.lower() == ".imzml" else seed
    size = part.stat().st_size
    salvaged = 0
    for frac in (0.35, 0.6, 0.8, 0.97):
        copy = copy_seed(seed, tmp_path / f"{frac}")
        target = copy.with_suffix(".ibd") if copy.suffix.lower() == ".imzml" else copy
        target.write_bytes(part.read_bytes()[: int(size * frac) // 2 * 2 + 1])  # odd: inside a record
        with pytest.raises(IonscopeError):
            _read = __import__("ionscope").read(copy, format=fmt)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                __import__("ionscope").read(copy, format=fmt, salvage=True)
            except IonscopeError:
                continue
        assert any(issubclass(w.category, TruncatedWarning) for w in caught)
        salvaged += 1
    assert salvaged >= 2, "cuts past the header must be salvaged"
