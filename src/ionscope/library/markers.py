"""The battery marker library: a versioned, user-extendable YAML file of secondary-ion markers.

File layout (see ``data/markers.yaml``, the built-in library)::

    version: 1
    name: …
    components: [SEI, CEI, …]            # optional: extends the allowed battery components
    isotopes: {Li: {6: 0.95, 7: 0.05}}   # optional: enriched-tracer abundances used for patterns
    markers:
      - {ion: "LiF2-", polarity: negative, parents: [LiF], component: [SEI], references: [...], notes: …}
    interferences:
      - {ions: ["^6LiH+", "^7Li+"], notes: …}

:func:`validate_library` reports *every* problem with its line; :func:`load_library` raises
:class:`LibraryError` listing them. The resolving power needed to separate an interference pair is
``m/Δm`` with ``m`` the mean and ``Δm`` the difference of their exact m/z.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ionscope.library.formula import Formula, parse_formula
from ionscope.library.isotopes import element
from ionscope.model.errors import ValidationError

#: Battery components a marker may indicate (a library may add more under ``components``).
COMPONENTS = ("SEI", "CEI", "electrolyte", "cathode", "anode", "current collector", "binder", "separator",
              "contamination", "calibration")
_MARKER_KEYS = {"ion", "polarity", "parents", "component", "references", "notes"}


class LibraryError(ValidationError):
    """A marker library file has problems; ``problems`` lists (line, message)."""

    def __init__(self, problems: list[tuple[int, str]], path: str | PathLike[str] | None = None) -> None:
        self.problems = problems
        text = "; ".join(f"line {ln}: {msg}" for ln, msg in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"{len(problems)} problem(s) in the marker library: {text}{more}", path)


@dataclass(frozen=True)
class Marker:
    """One marker ion: formula text, exact m/z, polarity, parent compounds, components, references."""

    ion: str
    mz: float
    polarity: str
    parents: tuple[str, ...]
    components: tuple[str, ...]
    references: tuple[str, ...] = ()
    notes: str = ""
    line: int = 0

    def to_dict(self) -> dict:
        return {"ion": self.ion, "mz": self.mz, "polarity": self.polarity, "parents": list(self.parents),
                "component": list(self.components), "references": list(self.references), "notes": self.notes}


@dataclass(frozen=True)
class Interference:
    """Ions sharing a nominal mass, with the resolving power m/Δm needed to separate the closest pair."""

    ions: tuple[str, ...]
    mz: tuple[float, ...]
    required_resolving_power: float
    notes: str = ""

    def to_dict(self) -> dict:
        return {"ions": list(self.ions), "mz": list(self.mz),
                "required_resolving_power": self.required_resolving_power, "notes": self.notes}


def require_positive(value: float | None, name: str) -> None:
    """Refuse a search number (an m/z, a tolerance) that is NaN, infinite, zero or negative.

    Parameters
    ----------
    value
        The number; ``None`` (not given) passes.
    name
        What it is called where it was given (``"mz"`` in Python, ``"--mz"`` on the command line).

    Raises
    ------
    ValidationError
        One sentence naming ``name`` and the value.
    """
    if value is not None and not (np.isfinite(value) and value > 0):
        raise ValidationError(f"{name} must be a positive, finite number, got {value:g}")


@dataclass(frozen=True)
class MarkerLibrary:
    """A loaded library (built-in, a user file, or both merged)."""

    version: int
    name: str
    markers: tuple[Marker, ...]
    interferences: tuple[Interference, ...] = ()
    isotopes: dict = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def search(self, text: str | None = None, *, mz: float | None = None, tolerance: float = 0.5,
               polarity: str | None = None, component: str | None = None) -> list[Marker]:
        """Markers whose ion, parents, components or notes contain ``text`` (case-insensitive), and/or
        whose m/z lies within ``tolerance`` of ``mz``; optionally of one polarity/component.

        Raises
        ------
        ValidationError
            ``mz`` or ``tolerance`` is NaN, infinite, zero or negative (:func:`require_positive`).
        """
        require_positive(mz, "mz")
        require_positive(tolerance, "tolerance")
        out = []
        for m in self.markers:
            if polarity and m.polarity != polarity:
                continue
            if component and component.lower() not in (c.lower() for c in m.components):
                continue
            if mz is not None and abs(m.mz - mz) > tolerance:
                continue
            if text:
                hay = " ".join((m.ion, *m.parents, *m.components, m.notes)).lower()
                if text.lower() not in hay:
                    continue
            out.append(m)
        return out

    def formulas(self, polarity: str | None = None) -> list[str]:
        return [m.ion for m in self.markers if polarity is None or m.polarity == polarity]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping as ``__line__``."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(obj: Any, default: int) -> int:
    """The YAML line of a mapping (recorded by the loader as ``__line__``), else ``default``."""
    return int(obj.get("__line__", default)) if isinstance(obj, dict) else default


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


#: A list of (line, message) that the checking steps below append to.
Problems = list[tuple[int, str]]


def _check_abundances(sym: Any, ab: dict, line: int, problems: Problems) -> dict[int, float] | None:
    """Check the isotope abundances of one element of the ``isotopes`` section.

    Parameters
    ----------
    sym : Any
        Element symbol as written in the file.
    ab : dict
        ``{mass number: abundance}`` as written (abundance as a fraction, dimensionless).
    line : int
        Line of the entry, for the messages.
    problems : list of (int, str)
        Appended to in place.

    Returns
    -------
    dict or None
        ``{mass number: abundance}`` of the valid entries; None when the symbol is not an element.
    """
    try:
        el = element(str(sym))
    except ValidationError as exc:
        problems.append((line, exc.problem))
        return None
    if not isinstance(ab, dict):
        problems.append((line, f"isotopes of {sym} must map mass number → abundance"))
        return None
    stable = set(el.mass_numbers.tolist())
    vals = {}
    for a, f in ab.items():
        if a == "__line__":
            continue
        if int(a) not in stable:
            problems.append((line, f"{a}{sym} is not a stable isotope"))
        elif not isinstance(f, (int, float)) or not np.isfinite(f) or f < 0:
            problems.append((line, f"abundance of {a}{sym} must be a number ≥ 0, got {f!r} (negative abundance)"))
        else:
            vals[int(a)] = float(f)
    if vals and abs(sum(vals.values()) - 1) > 1e-3:
        problems.append((line, f"abundances of {sym} sum to {sum(vals.values()):.6g}, not 1"))
    return vals


def _check_isotopes(doc: dict, top: int, problems: Problems) -> dict[str, dict[int, float]]:
    """Check the optional ``isotopes`` section (enriched-tracer abundances).

    Parameters
    ----------
    doc : dict
        The loaded YAML document.
    top : int
        Line of the document, for messages about the section as a whole.
    problems : list of (int, str)
        Appended to in place.

    Returns
    -------
    dict
        ``{symbol: {mass number: abundance}}`` (abundance as a fraction, dimensionless).
    """
    isotopes: dict[str, dict[int, float]] = {}
    iso = doc.get("isotopes") or {}
    if not isinstance(iso, dict):
        problems.append((top, "'isotopes' must map element → {mass number: abundance}"))
        return isotopes
    for sym, ab in iso.items():
        if sym == "__line__":
            continue
        vals = _check_abundances(sym, ab, _line(ab, _line(iso, top)), problems)
        if vals is not None:
            isotopes[str(sym)] = vals
    return isotopes


def _marker_formula(entry: dict, line: int, problems: Problems) -> Formula | None:
    """Parse the ``ion`` of a marker entry and check its charge against its ``polarity``.

    Parameters
    ----------
    entry : dict
        One entry of the ``markers`` list.
    line : int
        Line of the entry, for the messages.
    problems : list of (int, str)
        Appended to in place.

    Returns
    -------
    Formula or None
        The parsed ion; None when the entry cannot become a marker.
    """
    ion = entry.get("ion")
    pol = entry.get("polarity")
    if not isinstance(ion, str):
        problems.append((line, "marker without an 'ion' formula"))
        return None
    try:
        f = parse_formula(ion)
    except ValidationError as exc:
        problems.append((line, exc.problem))
        return None
    if f.charge == 0:
        problems.append((line, f"ion {ion!r} has no charge (end it with + or -)"))
        return None
    if pol not in ("positive", "negative"):
        problems.append((line, f"polarity of {ion!r} must be 'positive' or 'negative', got {pol!r}"))
        return None
    if f.polarity != pol:
        problems.append((line, f"polarity {pol!r} contradicts the charge of {ion!r} ({f.charge:+d})"))
        return None
    return f


def _check_marker(entry: Any, top: int, components: set[str], seen: dict[tuple[str, str], int],
                  problems: Problems) -> Marker | None:
    """Check one entry of the ``markers`` list.

    Parameters
    ----------
    entry : Any
        The entry as loaded.
    top : int
        Line of the document, used when the entry has no line of its own.
    components : set of str
        Allowed battery components.
    seen : dict
        ``{(formula, polarity): line}`` of the markers so far, to report duplicates; updated in place.
    problems : list of (int, str)
        Appended to in place.

    Returns
    -------
    Marker or None
        The marker (also when it has non-fatal problems); None when the entry cannot become one.
    """
    if not isinstance(entry, dict):
        problems.append((top, f"marker entry {entry!r} is not a mapping"))
        return None
    line = _line(entry, top)
    unknown = set(entry) - _MARKER_KEYS - {"__line__"}
    if unknown:
        problems.append((line, f"unknown key(s) {sorted(unknown)} (allowed: {sorted(_MARKER_KEYS)})"))
    f = _marker_formula(entry, line, problems)
    if f is None:
        return None
    ion, pol = entry["ion"], entry["polarity"]
    comps = tuple(str(c) for c in _as_list(entry.get("component")))
    if not comps:
        problems.append((line, f"marker {ion!r} has no 'component'"))
    bad = [c for c in comps if c not in components]
    if bad:
        problems.append((line, f"unknown component(s) {bad} for {ion!r} (allowed: {sorted(components)})"))
    parents = tuple(str(p) for p in _as_list(entry.get("parents")))
    if not parents:
        problems.append((line, f"marker {ion!r} has no 'parents'"))
    key = (str(f), pol)
    if key in seen:
        problems.append((line, f"duplicate marker {ion!r} ({pol}); first on line {seen[key]}"))
    seen[key] = line
    return Marker(ion, float(f.mz), pol, parents, comps, tuple(str(r) for r in _as_list(entry.get("references"))),
                  str(entry.get("notes") or ""), line)


def _check_markers(doc: dict, top: int, components: set[str], problems: Problems) -> list[Marker]:
    """Check the ``markers`` list and return its valid markers (see :func:`_check_marker`)."""
    markers_raw = doc.get("markers")
    if not isinstance(markers_raw, list):
        problems.append((top, "'markers' must be a list of entries"))
        markers_raw = []
    seen: dict[tuple[str, str], int] = {}
    markers = (_check_marker(entry, top, components, seen, problems) for entry in markers_raw)
    return [m for m in markers if m is not None]


def _check_interference(entry: Any, top: int, problems: Problems) -> Interference | None:
    """Check one entry of the ``interferences`` list and compute its required resolving power.

    The resolving power needed is ``m/Δm``, with ``m`` the mean exact m/z of the ions and ``Δm`` the
    smallest difference between them (dimensionless).

    Parameters
    ----------
    entry : Any
        The entry as loaded.
    top : int
        Line of the document, used when the entry has no line of its own.
    problems : list of (int, str)
        Appended to in place.

    Returns
    -------
    Interference or None
        None when the entry is not a valid interference.
    """
    line = _line(entry, top)
    ions = _as_list(entry.get("ions")) if isinstance(entry, dict) else []
    if len(ions) < 2:
        problems.append((line, "an interference needs 'ions' with at least two formulas"))
        return None
    try:
        fs = [parse_formula(str(i)) for i in ions]
    except ValidationError as exc:
        problems.append((line, exc.problem))
        return None
    mzs = np.array([f.mz for f in fs])
    if len({int(np.rint(m)) for m in mzs}) != 1:
        problems.append((line, f"interfering ions {ions} do not share a nominal m/z ({np.round(mzs, 3).tolist()})"))
        return None
    if len({np.sign(f.charge) for f in fs}) != 1:
        problems.append((line, f"interfering ions {ions} have different polarities"))
        return None
    d = np.diff(np.sort(mzs))
    if np.any(d <= 0):
        problems.append((line, f"interfering ions {ions} have identical m/z"))
        return None
    rp = float(np.mean(mzs) / d.min())
    return Interference(tuple(str(i) for i in ions), tuple(float(m) for m in mzs), rp, str(entry.get("notes") or ""))


def _check(doc: Any, path: Any) -> tuple[Problems, dict[str, Any]]:
    """Check a loaded library document and collect every problem.

    Parameters
    ----------
    doc : Any
        The YAML document as loaded by :class:`_LineLoader`.
    path : Any
        The file the document came from (unused; kept for the callers).

    Returns
    -------
    problems : list of (int, str)
        Every problem as (line, message), in file-section order; empty when the document is valid.
    library : dict
        ``version``, ``name``, ``markers``, ``interferences`` and ``isotopes`` of the valid entries.
    """
    problems: Problems = []
    if not isinstance(doc, dict):
        return [(1, "the file must be a YAML mapping with a 'markers' list")], {}
    top = _line(doc, 1)
    version = doc.get("version")
    if not isinstance(version, int) or version < 1:
        problems.append((top, f"'version' must be a positive integer, got {version!r}"))
    components = set(COMPONENTS) | {str(c) for c in _as_list(doc.get("components"))}
    isotopes = _check_isotopes(doc, top, problems)
    markers = _check_markers(doc, top, components, problems)
    interferences = [i for i in (_check_interference(e, top, problems) for e in _as_list(doc.get("interferences")))
                     if i is not None]
    return problems, {"version": version if isinstance(version, int) else 0, "name": str(doc.get("name", "")),
                      "markers": markers, "interferences": interferences, "isotopes": isotopes}


def _parse_text(text: str, path) -> tuple[list[tuple[int, str]], dict]:
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [((mark.line + 1) if mark else 1, f"not valid YAML: {getattr(exc, 'problem', exc)}")], {}
    return _check(doc, path)


def validate_library(path: str | PathLike[str]) -> list[tuple[int, str]]:
    """Every problem of a user library file as (line, message); empty when the file is valid."""
    p = Path(path)
    if not p.is_file():
        from ionscope.model.errors import InputNotFoundError

        raise InputNotFoundError("no such library file", p)
    problems, _ = _parse_text(p.read_text(encoding="utf-8", errors="replace"), p)
    return problems


@lru_cache(maxsize=1)
def builtin_library() -> MarkerLibrary:
    """The library shipped with ionscope (``data/markers.yaml``)."""
    text = files("ionscope.library").joinpath("data", "markers.yaml").read_text(encoding="utf-8")
    problems, d = _parse_text(text, "markers.yaml")
    if problems:
        raise LibraryError(problems, "ionscope/library/data/markers.yaml")
    return MarkerLibrary(d["version"], d["name"], tuple(d["markers"]), tuple(d["interferences"]), d["isotopes"],
                         ("builtin",))


def load_library(path: str | PathLike[str] | None = None, *, extend_builtin: bool = True) -> MarkerLibrary:
    """Load a user library (raising :class:`LibraryError` with every problem), merged over the built-in one.

    Entries of the user file replace built-in entries with the same ion and polarity.
    """
    base = builtin_library()
    if path is None:
        return base
    p = Path(path)
    problems = validate_library(p)
    if problems:
        raise LibraryError(problems, p)
    _, d = _parse_text(p.read_text(encoding="utf-8"), p)
    if not extend_builtin:
        return MarkerLibrary(d["version"], d["name"], tuple(d["markers"]), tuple(d["interferences"]),
                             d["isotopes"], (str(p),))
    user = {(str(parse_formula(m.ion)), m.polarity): m for m in d["markers"]}
    merged = [m for m in base.markers if (str(parse_formula(m.ion)), m.polarity) not in user] + list(user.values())
    return MarkerLibrary(d["version"], d["name"] or base.name, tuple(merged),
                         base.interferences + tuple(d["interferences"]), {**base.isotopes, **d["isotopes"]},
                         base.sources + (str(p),))


def interferences_for(formulas: Iterable[str]) -> list[Interference]:
    """Built-in interferences involving any of ``formulas``."""
    want = {str(parse_formula(f)) for f in formulas}
    return [i for i in builtin_library().interferences if want & {str(parse_formula(x)) for x in i.ions}]
