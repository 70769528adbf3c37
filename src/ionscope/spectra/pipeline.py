"""End-to-end spectrum analyses returning :class:`~ionscope.model.Result` records (used by the CLI and demo)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.model.result import NoUncertainty, Quantity, RecordSequence, Result
from ionscope.model.stores import is_dataset_folder
from ionscope.model.text import pretty_ion
from ionscope.spectra.calibration import (
    REFERENCE_IONS,
    _recalibration,
    apply_calibration,
    refit_is_worse,
    signed_rank_p_value,
)
from ionscope.spectra.deadtime import dead_time_corrected, mostly_below_one_count
from ionscope.spectra.elements import NONMETALS, RESOLVED_NONMETALS, _resolved_form_elements, identify_elements
from ionscope.spectra.forms import NO_ION_WHY, _candidate_pairs, _primary_elements, _unit_pattern, _untestable
from ionscope.spectra.lockmass import lock_ions
from ionscope.spectra.naming import _peak_ions
from ionscope.spectra.peaks import channel_binned, find_spectrum_peaks

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

#: Array libraries xarray imports only to check whether an array is one of theirs.
_DUCK_ARRAY_LIBRARIES = ("dask", "pint", "sparse", "cupy", "cubed")


@contextmanager
def numpy_only_arrays() -> Iterator[None]:
    """Within this block, xarray does not import dask, pint, sparse or cupy to check array types.

    xarray asks, for every array it wraps, whether it is a dask/pint/sparse/cupy array, importing
    each installed library to find out (dask alone, with the parts of SciPy it pulls in, is ~0.3 s of
    CPU — a fifth of a single-spectrum ``identify``). No array of a library that is not yet imported
    can exist, so for those the answer is "no" without importing them: their entries in xarray's
    duck-array cache are set to "not available" here and removed on exit (only the ones set here), so
    a later import of the library behaves as usual. Likewise xarray's test for dask collections, which
    imports ``dask.base``, answers "no" while dask is not imported. Without these internals (another
    xarray version) this does nothing. Not meant for a process whose other threads import one of these
    libraries for the first time while the block runs.
    """
    pycompat: Any  # private xarray internals, typed by xarray for its own use only
    xr_utils: Any
    try:
        from xarray.namedarray import pycompat
        from xarray.namedarray import utils as xr_utils

        cache: dict[str, Any] = pycompat._cached_duck_array_modules
        module_type = pycompat.DuckArrayModule
        version = pycompat.Version("0.0.0")
        is_dask = xr_utils.is_dask_collection
    except (ImportError, AttributeError):
        yield
        return
    added = {}
    for mod in _DUCK_ARRAY_LIBRARIES:
        if mod not in sys.modules and mod not in cache:
            absent = object.__new__(module_type)
            absent.module, absent.version, absent.type, absent.available = None, version, (), False
            cache[mod] = added[mod] = absent

    def is_dask_collection(x) -> bool:  # imports dask.base (~0.1 s) only once dask is in use
        return "dask" in sys.modules and is_dask(x)

    xr_utils.is_dask_collection = is_dask_collection
    try:
        yield
    finally:
        for mod, absent in added.items():
            if cache.get(mod) is absent:
                del cache[mod]
        if xr_utils.is_dask_collection is is_dask_collection:
            xr_utils.is_dask_collection = is_dask


#: Fewest channels a spectrum can hold a peak in: a maximum between two lower channels.
MIN_CHANNELS = 3


def read_spectrum(path: str | PathLike[str], polarity: str | None = None, counts_required: bool = False
                  ) -> xr.DataArray:
    """Read a spectrum file; polarity from the argument, the metadata, or the ``P_``/``N_`` file name;
    counts the metadata call uncorrected are dead-time corrected
    (:func:`ionscope.spectra.deadtime.dead_time_corrected`). What the reading and the correction had to
    say is in ``attrs["read_warnings"]``.

    Raises
    ------
    ValidationError
        ``polarity`` is not None, ``"auto"``, ``"positive"`` or ``"negative"``; the file holds fewer than
        :data:`MIN_CHANNELS` channels; with ``counts_required`` (an analysis whose every number rests on Poisson
        counts), its intensities cannot be counts (:func:`_not_counts`).
    """
    import warnings as _warnings

    import ionscope

    p = Path(path)
    if polarity not in (None, "auto", "positive", "negative"):
        raise ValidationError(f"polarity must be 'auto', 'positive' or 'negative', got {polarity!r}", p)
    with _warnings.catch_warnings(record=True) as caught, numpy_only_arrays():
        _warnings.simplefilter("always")
        spec = ionscope.read(p)
    notes = [str(w.message) for w in caught]
    spec, note = _one_spectrum(spec, p)
    notes += [note] if note else []
    if spec.sizes.get("mz", 0) < MIN_CHANNELS:
        raise ValidationError(f"the spectrum has {spec.sizes.get('mz', 0)} channel(s): too few to hold a peak (a "
                              f"maximum between two lower channels needs {MIN_CHANNELS}); is the export cut short?", p)
    if "channel" not in spec.coords:
        spec, note = _with_empty_channels(spec)
        notes += [note] if note else []
    if "channel" not in spec.coords:
        spec, note = _channels_from_mz(spec)
        notes += [note] if note else []
    acq = dict(spec.attrs.get("acquisition") or {})
    if polarity in (None, "auto"):
        polarity = acq.get("polarity") or (spec.attrs.get("polarity") if spec.attrs.get("polarity") in
                                           ("positive", "negative") else None)  # e.g. an imzML's scan polarity
        if polarity is None:
            m = re.match(r"^([PN])_", p.name)
            polarity = None if not m else ("positive" if m.group(1) == "P" else "negative")
    if polarity is not None:
        acq["polarity"] = polarity
        mismatch = polarity_mismatch(spec, polarity)
        if mismatch:
            notes.append(mismatch)
    if not acq.get("primary_ion"):
        acq["primary_ion"] = primary_ion_from_name(p.name)
    spec.attrs["acquisition"] = acq
    note = _not_counts(spec, p, counts_required)
    notes += [note] if note else []
    with _errors_naming(p):
        spec, dead_time_notes = dead_time_corrected(spec)
    notes += dead_time_notes
    if notes:
        spec.attrs["read_warnings"] = notes
    return spec


#: Nominal masses of the ions that dominate TOF-SIMS spectra of each polarity whatever the sample
#: (Vickerman & Briggs, *ToF-SIMS: Materials Analysis by Mass Spectrometry*, 2nd ed., IM Publications 2013):
#: O⁻, OH⁻, F⁻, C₂⁻, C₂H⁻, CN⁻, ³⁵Cl⁻, ³⁷Cl⁻; Li⁺, CH₃⁺, Na⁺, C₂H₃⁺, C₂H₅⁺, K⁺, C₃H₅⁺, C₃H₇⁺. On the 19 exports
#: of Laurent et al. (2024) the markers of the file's own polarity hold 10–100 times the counts of the others'.
POLARITY_MARKERS = {"negative": (16, 17, 19, 24, 25, 26, 35, 37), "positive": (7, 15, 23, 27, 29, 39, 41, 43)}

#: How the warning of :func:`polarity_mismatch` begins (the commands print it above their results).
POLARITY_WARNING = "the spectrum looks "


def polarity_mismatch(spec: xr.DataArray, polarity: str) -> str | None:
    """A warning when the other polarity's marker ions (:data:`POLARITY_MARKERS`, counts within ±0.3 of
    their nominal masses) hold more of the spectrum's counts than ``polarity``'s own; else None. Positive
    and negative ions of one formula differ by two electron masses (0.001 u), so only this chemistry, not
    the masses, tells a spectrum's polarity."""
    x, y = spec.coords["mz"].values, np.asarray(spec.values, dtype=float)
    total = float(y.sum())
    if total <= 0:
        return None
    share = {pol: sum(float(y[(x > m - 0.3) & (x < m + 0.3)].sum()) for m in masses) / total
             for pol, masses in POLARITY_MARKERS.items()}
    other = "negative" if polarity == "positive" else "positive"
    if share[other] <= share[polarity]:
        return None
    return (f"{POLARITY_WARNING}{other}: the ions that dominate {other} spectra (" +
            ("O⁻, OH⁻, Cl⁻ …" if other == "negative" else "Na⁺, K⁺, CₓHᵧ⁺ …") +
            f") hold {share[other]:.0%} of its counts, the {polarity} ones {share[polarity]:.0%}; it is analysed "
            f"as {polarity}: check --polarity or the P_/N_ file-name prefix")


#: Liquid-metal ion sources of TOF-SIMS analysis beams, named with the cluster size in export file names
#: (``..._Bi1_1.txt``, ``Bi3``, ``Au3``, ``Ga1``; the IONTOF convention).
_LMIG = re.compile(r"(?:^|[_\-])(Bi|Au|Ga)(\d{1,2})(\+{1,2})?(?=[_\-.]|$)")


def primary_ion_from_name(name: str) -> str | None:
    """The analysis primary ion named in an export's file name (``P_Ru_Bi5_1.txt`` → ``"Bi5+"``,
    ``Bi1`` → ``"Bi+"``, the doubly charged cluster ``Bi3++`` → ``"Bi3++"``), or None. Only
    liquid-metal-ion-source tags (Bi, Au, Ga with a cluster size, optionally a charge) are recognised."""
    m = _LMIG.search(name)
    if not m:
        return None
    n = int(m.group(2))
    return f"{m.group(1)}{n if n > 1 else ''}{m.group(3) or '+'}"


def _not_counts(spec: xr.DataArray, path: Path, required: bool = False) -> str | None:
    """A warning when the intensities cannot be Poisson counts, which the σ, S/N and limits of every spectrum
    command take them as (a spectrum per second, normalised to the total, or interpolated onto another axis has
    another variance):

    - most non-zero ones lie between 0 and 1, which no count can whatever the header says
      (:func:`~ionscope.spectra.deadtime.mostly_below_one_count`); some do;
    - whole counts are all multiples of one g > 1: scaled by g (σ would come out √g too small). Poisson counts of
      any mean are a multiple of g with probability at most ~0.6 per non-zero channel, so over
      :data:`COMMON_FACTOR_CHANNELS` of them that happens by chance with probability below 10⁻⁶;
    - some are not whole numbers and the file does not say they are dead-time corrected counts.

    Raises
    ------
    ValidationError
        With ``required``, for the first two.
    """
    values = np.asarray(spec.values, dtype=float)
    positive = values[values > 0]
    fractional = np.abs(positive - np.rint(positive)) > 1e-6 * np.maximum(positive, 1.0)
    factor = _common_factor(positive) if not fractional.any() else 1
    refused = None
    if factor > 1:
        refused = (f"every non-zero intensity is a multiple of {factor}: counts scaled by {factor} (σ, S/N and limits "
                   f"would come out √{factor} too small); divide the intensities by {factor}")
    elif mostly_below_one_count(positive):
        refused = (f"{np.mean(positive < 1):.0%} of the non-zero intensities lie between 0 and 1 (median "
                   f"{np.median(positive):.3g}), which no count can, dead-time corrected or not: the export holds "
                   "intensities per second or normalised to a total, and every σ, z and limit of an identification "
                   "needs counts; export the spectrum as counts")
    if refused and required:
        raise ValidationError(refused, path)
    if factor > 1:
        return refused
    if np.any(positive < 1):
        return (f"{int(np.sum(positive < 1))} of the {values.size} intensities lie between 0 and 1, which no count "
                "can, dead-time corrected or not: σ, S/N and detection limits assume Poisson counts, which scaled "
                "intensities (per second, normalised, interpolated) are not")
    if (spec.attrs.get("acquisition") or {}).get("dead_time_corrected") or not fractional.any():
        return None
    return (f"{int(fractional.sum())} of the {values.size} intensities are not whole numbers: they are taken as "
            "counts, so σ, S/N and detection limits assume Poisson statistics; scaled intensities (per second, "
            "normalised, interpolated) make them wrong")


#: Non-zero channels over which whole counts sharing a factor are taken as scaled (:func:`_not_counts`):
#: 0.6³⁰ ≈ 2·10⁻⁷.
COMMON_FACTOR_CHANNELS = 30


def _common_factor(whole: np.ndarray) -> int:
    """The greatest common divisor of whole non-zero counts over at least :data:`COMMON_FACTOR_CHANNELS` channels
    (1 with fewer)."""
    if whole.size < COMMON_FACTOR_CHANNELS or whole.max() > 2 ** 53:
        return 1
    return int(np.gcd.reduce(np.rint(whole).astype(np.int64)))


#: Most channels a spectrum stored without its empty channels is restored to (8 bytes each).
MAX_RESTORED_CHANNELS = 50_000_000


def _with_empty_channels(spec: xr.DataArray) -> tuple[xr.DataArray, str | None]:
    """A spectrum stored without its empty channels (a TOF histogram kept sparse), on its whole channel grid
    with those channels restored as zeros, and a note; as it is when it has none left out, is on no channel
    grid (:func:`ionscope.spectra.oversampling.channel_grid`), or would exceed :data:`MAX_RESTORED_CHANNELS`.
    The window fit and the peak widths take each bin's neighbours as the adjacent channels: a gap read as one
    bin spread its neighbours' counts over it (Na⁺ 32 % low on a simulated sparse histogram, 12 % with the zeros
    kept)."""
    from ionscope.model.arrays import make_spectrum
    from ionscope.spectra.oversampling import channel_grid, on_whole_grid

    mz = np.asarray(spec.coords["mz"].values, dtype=float)
    grid = channel_grid(mz)
    if grid is None or int(grid.channel[-1]) + 1 == mz.size or int(grid.channel[-1]) + 1 > MAX_RESTORED_CHANNELS:
        return spec, None
    whole = on_whole_grid(np.asarray(spec.values, dtype=float), mz, grid)
    out = make_spectrum(whole.counts, whole.mz, attrs=dict(spec.attrs))
    return out, (f"{whole.counts.size - mz.size} empty channels left out of the file restored as zeros (its m/z "
                 f"lie on a grid uniform in {'√(m/z)' if grid.in_root else 'm/z'})")


def _channels_from_mz(spec: xr.DataArray) -> tuple[xr.DataArray, str | None]:
    """A spectrum exported without its TOF channels, given channels rebuilt from its m/z, so that it can be
    recalibrated: a TOF export's m/z come from ``t = t0 + k·√m``, so ``√m`` is the flight time up to ``t0`` and
    ``k``; scaled so that one bin spans the export's binning (1 if not stated), it is the channel number less
    ``t0``, and a refit of ``t0`` and ``k`` on it is the refit on the true channels. The note says so; a
    spectrum whose m/z are not all positive is left as it is (None)."""
    mz = np.asarray(spec.coords["mz"].values, dtype=float)
    if mz.size < 3 or not np.all(mz > 0):
        return spec, None
    root = np.sqrt(mz)
    binning = float((spec.attrs.get("acquisition") or {}).get("binning") or 1)
    channel = root / float(np.median(np.diff(root))) * binning
    out = spec.assign_coords(channel=("mz", channel, {"units": "channel",
                                                      "rebuilt_from": "√(m/z) (the export has no channel column)"}))
    return out, ("the export has no channel column: channels rebuilt from its m/z so that it can be recalibrated "
                 "(a TOF export's m/z follow t = t0 + k·√m, so √(m/z) is the flight time up to t0 and k)")


def lock_elements_option(option: str | None, spec: xr.DataArray) -> str | list[str] | None:
    """What ``--lock-elements`` means for ``spec``: its elements (:func:`parse_elements`); ``"none"``: no lock
    masses; not given: ``"auto"`` (the elements auto mode finds, as ``spectrum identify`` uses them) where the
    polarity is known, else none."""
    if option is None:
        return "auto" if (spec.attrs.get("acquisition") or {}).get("polarity") in REFERENCE_IONS else None
    if option.strip().lower() == "none":
        return None
    return parse_elements(option)


def _checked_calibration(spec: xr.DataArray, *, model: str = "sqrt", references: Sequence[str] | None = None,
                         source: str | PathLike[str] | None = None,
                         lock_elements: Sequence[str] | str | None = None):
    """The recalibration of ``spec`` (:func:`~ionscope.spectra.calibration.recalibrate`) and, with
    ``lock_elements``, its redo with their ions identified at ≥ 5σ as further references
    (:func:`_with_lock_masses`): ``(check, fits)``, the identification of ``lock_elements`` on the calibration
    kept (``None`` without them)."""
    acquisition = spec.attrs.get("acquisition") or {}
    polarity = acquisition.get("polarity")
    if lock_elements is not None:
        lock_elements = parse_elements(lock_elements)
        if polarity not in REFERENCE_IONS:
            raise ValidationError("lock elements need the polarity: give --polarity positive|negative", source)
    if lock_elements is None:
        return _recalibration(spec, polarity=polarity, model=model, references=references, source=source)[0], None
    options = {"primary_ion": acquisition.get("primary_ion")}
    check, _, fits = _calibrated_identification(spec, str(polarity), lock_elements, options,
                                                Path(source) if source else None, model=model, references=references)
    return check, fits


def _one_spectrum(data, p: Path) -> tuple[xr.DataArray, str | None]:
    """The spectrum ``data`` holds, and a note when it is an image's total spectrum (its pixels summed), or
    the error saying why ``data`` is no spectrum. An imzML image in processed mode (an m/z axis of its own
    for each pixel) has no common axis to sum on and is refused."""
    if getattr(data, "mode", None) == "processed" and hasattr(data, "n_spectra"):
        raise ValidationError(f"an imzML image in processed mode ({data.n_spectra} pixels, an m/z axis of its own "
                              "each), not one spectrum: take ion images of its peaks with "
                              "`ionscope image extract`", p)
    if not hasattr(data, "data_vars") and "mz" in getattr(data, "dims", ()):  # a labelled array over m/z
        if data.ndim == 1:
            return data, None
        pixels = int(np.prod([data.sizes[d] for d in data.dims if d != "mz"]))
        spec, note = _total_spectrum(data.sum([d for d in data.dims if d != "mz"]).values, data.coords["mz"].values,
                                     pixels, p)
        spec.attrs.update({k: data.attrs[k] for k in ("acquisition", "polarity") if k in data.attrs})
        return spec, note
    return _spectrum_of_arrays(data, p)


def _spectrum_of_arrays(data, p: Path) -> tuple[xr.DataArray, str | None]:
    """The spectrum held by bare arrays: an ``mz`` array and counts of its length (a NumPy archive of ``counts`` and
    ``mz``, as spectra converted from other instruments are shared; an array of their TOF channels named in
    :data:`CHANNEL_NAMES` becomes the ``channel`` coordinate, a scalar named in :data:`SHOTS_NAMES` says the counts
    are raw counts of that many primary-ion shots, dead-time corrected on reading; without it a note says the counts
    are taken as corrected), or the total spectrum of a pixels × m/z matrix beside it (a flat image archive; a third
    array, e.g. the pixels' positions, is left aside), with a note; or the error saying what ``data`` holds instead
    (a depth profile …)."""
    from ionscope.io.registry import holding

    arrays = [str(v) for v in getattr(data, "data_vars", {})]
    mz_name = next((v for v in arrays if data[v].ndim == 1 and v.split("_")[0] == "mz"), None)
    channel = next((v for v in arrays if mz_name and data[v].ndim == 1 and data[v].size == data[mz_name].size
                    and v.split("_")[0].lower() in CHANNEL_NAMES), None)
    shots = next((v for v in arrays if v.lower() in SHOTS_NAMES), None)
    others = [v for v in arrays if v not in (mz_name, channel, shots)]
    if mz_name is not None and len(others) == 1 and data[mz_name].size:
        counts, n = data[others[0]], data[mz_name].size
        if counts.ndim == 1 and counts.size == n:
            spec = _checked_spectrum(counts.values, data[mz_name].values, p)
            note = None if shots is not None else NO_SHOTS
            if shots is not None:  # raw counts of so many shots: dead-time corrected on reading
                spec.attrs["acquisition"] = {"shots": _checked_shots(data[shots], p), "dead_time_corrected": False}
            return (spec if channel is None else spec.assign_coords(channel=("mz", _checked_channels(data[channel], p)))
                    ), note
        if counts.ndim == 2 and counts.shape[1] == n:  # pixels × m/z (a flat image archive)
            return _total_spectrum(np.asarray(counts.values, dtype=float).sum(axis=0), data[mz_name].values,
                                   counts.shape[0], p)
    if mz_name is not None and len(others) == 2:
        pixels = [v for v in others if data[v].ndim == 2 and data[v].shape[1] == data[mz_name].size]
        if len(pixels) == 1:
            return _spectrum_of_arrays(data[[mz_name, pixels[0]]], p)
    shapes = ", ".join(f"{v} {'×'.join(map(str, data[v].shape))}" for v in getattr(data, "data_vars", ()))
    raise ValidationError(f"holds {holding(data)}, not a spectrum: no m/z array with counts of its length, nor "
                          f"pixels × m/z" + (f" (shapes: {shapes})" if shapes else ""), p)


def _total_spectrum(total, mz, pixels: int, p: Path) -> tuple[xr.DataArray, str]:
    """An image's total spectrum (``total``: its counts summed over its ``pixels``) and the note saying so."""
    return (_checked_spectrum(total, mz, p),
            f"an image: its total spectrum (the sum over its {pixels} pixels) is analysed")


#: Names of an archive's array of TOF channels (of each m/z), kept as the spectrum's ``channel`` coordinate.
CHANNEL_NAMES = ("channel", "channels", "tof")


#: Names of an archive's scalar holding the primary-ion shots its counts were summed over: with it the counts
#: are taken as raw (not dead-time corrected) and corrected on reading.
SHOTS_NAMES = ("shots", "shots_per_pixel")

#: The note on an archive of bare arrays without :data:`SHOTS_NAMES`.
NO_SHOTS = ("an archive of bare arrays says nothing of its acquisition: its counts are taken as dead-time corrected; "
            "if they are raw counts, add the number of primary-ion shots as a scalar array `shots` (intense peaks "
            "are otherwise under-counted: Stephan, Zehnpfenning & Benninghoven 1994, doi:10.1116/1.579255)")


def _checked_shots(shots, p: Path) -> int:
    """An archive's number of primary-ion shots, or the error saying it must be a positive whole number."""
    raw = np.asarray(shots)
    try:
        value = float(raw) if raw.ndim == 0 else float("nan")
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value < 1 or value != int(value):
        shown = np.array2string(raw, threshold=4) if raw.ndim else repr(raw.item())
        raise ValidationError(f"the shots array must hold the number of primary-ion shots, one positive whole number, "
                              f"got {shown}", p)
    return int(value)


def _checked_channels(channels, p: Path) -> np.ndarray:
    """An archive's TOF channels, or the error naming what is wrong with them: finite and increasing, as the
    m/z they go with."""
    c = np.asarray(channels, dtype=float)
    if not np.isfinite(c).all() or (c.size > 1 and np.any(np.diff(c) <= 0)):
        raise ValidationError("the channel array must be finite and increase strictly with the m/z", p)
    return c


def _checked_spectrum(counts, mz, p: Path) -> xr.DataArray:
    """A spectrum of ``counts`` over ``mz`` read from ``p``, or the error naming what is wrong with them."""
    from ionscope.model.arrays import make_spectrum

    counts, mz = np.asarray(counts, dtype=float), np.asarray(mz, dtype=float)
    if not (np.isfinite(counts).all() and np.isfinite(mz).all() and (counts >= 0).all()):
        raise ValidationError("the counts and m/z arrays must be finite and the counts non-negative", p)
    if mz.size > 1 and np.any(np.diff(mz) <= 0):
        raise ValidationError("the m/z array must increase strictly", p)
    return make_spectrum(counts, mz, attrs={"source_file": p.name})


def _polarity_of(spec, path: Path | None = None) -> str:
    pol = (spec.attrs.get("acquisition") or {}).get("polarity")
    if pol not in ("positive", "negative"):
        raise ValidationError("the polarity of this spectrum is unknown (neither its metadata nor a P_/N_ "
                              "file-name prefix says): pass --polarity positive|negative", path)
    return pol


def calibration_result(spec: xr.DataArray, *, model: str = "sqrt", references: Sequence[str] | None = None,
                       source: str | PathLike[str] | None = None, out: str | PathLike[str] | None = None,
                       force: bool = False, lock_elements: Sequence[str] | str | None = None) -> Result:
    """Recalibrate ``spec`` (:func:`ionscope.spectra.calibration.recalibrate`: never worse than the file's
    own calibration); report parameters, per-reference residuals (ppm), the exported calibration's rms at
    the same peaks and the calibration quality (model, rms ppm, ions used/rejected, kept or refit).

    With ``lock_elements`` (symbols, or ``"auto"``), the spectrum is identified for those elements on the first
    calibration and the recalibration is redone with their ions found at ≥ 5σ as further references
    (:func:`ionscope.spectra.lockmass.lock_ions`), as ``spectrum identify`` does.

    With ``out``, the recalibrated spectrum is written there (:func:`ionscope.write`, atomically; an
    existing store is replaced only with ``force``), checked to be writable before anything is computed.
    """
    if out is not None:
        from ionscope.io.atomic import check_writable

        check_writable(Path(out), force)
    acquisition = spec.attrs.get("acquisition") or {}
    check, _ = _checked_calibration(spec, model=model, references=references, source=source,
                                 lock_elements=lock_elements)
    cal = check.calibration
    warnings = list(spec.attrs.get("read_warnings", [])) + list(check.warnings)
    binning = acquisition.get("binning")
    if binning and binning > 1:
        warnings.append(f"the export is binned by {binning} channels: residuals are limited by the bin width "
                        "(≈ 2·binning/(k·√m) relative), not by the fit")
    if check.rejected:
        warnings.append(f"{len(check.rejected)} reference peak(s) rejected as outliers: {', '.join(check.rejected)}")
    missing = [r for r in references or () if r not in check.used and r not in check.rejected]
    if missing:
        warnings.append(f"{len(missing)} reference ion(s) given not found (no peak within one bin or one FWHM of "
                        f"the m/z expected): {', '.join(missing)}")
    values: dict[str, Any] = _calibration_parameters(cal)
    quality = _quality_record(check)
    values.update({"model": cal.model, "rms": quality["rms"], "exported_rms": quality["exported_rms"],
                   "references": [_reference_record(r) for r in cal.references], "quality": quality})
    prov = make_provenance("ionscope.spectra.recalibrate", inputs=[source] if source else [],
                           parameters={"model": model, "references": list(references) if references else "default",
                                       "lock_elements": lock_elements})
    values["written"] = None
    if out is not None:
        import ionscope
        from ionscope.model.provenance import written_file

        ionscope.write(apply_calibration(spec, cal), Path(out), force=force)
        values["written"] = written_file(out)
    return Result("spectrum.calibration", values, tuple(warnings), prov)


def peaks_result(spec, *, min_snr: float = 3.0, recalibrate: bool = True,
                 source: str | PathLike[str] | None = None,
                 lock_elements: Sequence[str] | str | None = None) -> Result:
    """Peak table of ``spec`` (recalibrated first when it has a channel axis and a known polarity, with the ions
    of ``lock_elements`` as further references as in :func:`calibration_result`; the calibration quality is
    reported under ``calibration``); each peak with its likeliest ion under ``ion``
    (:func:`~ionscope.spectra.naming._peak_ions`: an ion of the elements identified for the calibration, of the
    marker library or a molecular ion)."""
    warnings = list(spec.attrs.get("read_warnings", []))
    quality = None
    rms_bins = 0.0  # no calibration check: the m/z uncertainty is the centroid's alone
    fits = None
    if recalibrate and "channel" in spec.coords and (spec.attrs.get("acquisition") or {}).get("polarity"):
        check, fits = _checked_calibration(spec, source=source, lock_elements=lock_elements)
        spec = apply_calibration(spec, check.calibration)
        warnings += list(check.warnings)
        quality = _quality_record(check)
        rms_bins = check.rms_bins if np.isfinite(check.rms_bins) else 0.0
    elif recalibrate:
        why = "the polarity is unknown: give --polarity" if "channel" in spec.coords else "the m/z are not all positive"
        warnings.append(f"not recalibrated: m/z as exported ({why})")
    table = find_spectrum_peaks(spec, min_snr=min_snr)
    if not np.asarray(spec.values).any():
        warnings.append("every count of the spectrum is zero")
    if channel_binned(spec.coords["mz"].values):
        warnings.append("the spectrum is binned at unit mass (channels ≥ 0.5 u apart): each peak is its channel, "
                        "its FWHM the channel's width and its m/Δm not the instrument's")
    prov = make_provenance("ionscope.spectra.find_spectrum_peaks", inputs=[source] if source else [],
                           parameters={"min_snr": min_snr, "recalibrate": recalibrate})
    x = spec.coords["mz"].values
    peaks = [_peak_record(r, rms_bins * float(np.interp(r["mz"], x, np.gradient(x)))) for r in table.to_dict("records")]
    ions = _peak_ions(table, (spec.attrs.get("acquisition") or {}).get("polarity"),
                      np.array([p["mz"].uncertainty for p in peaks]), fits)
    for i, peak in enumerate(peaks):
        ion = ions.get(i)
        if ion is not None:  # its mass error known as well as the peak's m/z
            ion["error"] = Quantity(ion.pop("error_ppm"), peak["mz"].uncertainty / peak["mz"].value * 1e6, "ppm")
            ion["mass_agrees"] = bool(abs(ion["error"].value) <= 3 * ion["error"].uncertainty)
        peak["ion"] = ion
    return Result("spectrum.peaks", {"n_peaks": len(table), "peaks": peaks, "calibration": quality,
                                     "channels_per_bin": table.attrs.get("channels_per_bin")},
                  tuple(warnings), prov)


def _peak_record(row: dict, calibration_sigma: float = 0.0) -> dict:
    """One peak of :func:`find_spectrum_peaks` with its physical numbers as quantities.

    Uncertainties from counting statistics of a peak of ``N`` counts (its area) and Gaussian width
    ``σ = FWHM/2.3548``: centroid ``σ/√N``, height ``√height``, area ``√N`` (Poisson), FWHM
    ``FWHM/√(2N)`` (the standard error of a width estimated from ``N`` samples), m/Δm ``R/√(2N)`` (the FWHM's
    relative error, the centroid's being far smaller); see Bevington &
    Robinson, *Data Reduction and Error Analysis for the Physical Sciences*, 3rd ed., McGraw-Hill 2003.
    The m/z adds in quadrature ``calibration_sigma``: how far a centroid on this calibrated axis sits from
    its exact mass, measured on the reference ions (their rms residual in bins times the bin width here).
    """
    n = max(float(row["area"]), 1.0)
    fwhm = float(row["fwhm"])
    out = {"mz": Quantity(float(row["mz"]), float(np.hypot(fwhm / 2.3548 / np.sqrt(n), calibration_sigma)), "m/z"),
           "height": Quantity(float(row["height"]), float(np.sqrt(max(row["height"], 1.0))), "counts"),
           "area": Quantity(float(row["area"]), float(np.sqrt(n)), "counts"),
           "fwhm": Quantity(fwhm, fwhm / np.sqrt(2 * n), "m/z"),
           "resolving_power": Quantity(float(row["resolving_power"]), float(row["resolving_power"]) / np.sqrt(2 * n),
                                       "1"),
           "snr": float(row["snr"]),
           "baseline": Quantity(float(row["baseline"]), float(np.sqrt(max(row["baseline"], 1.0))), "counts"),
           "left_mz": float(row["left_mz"]), "right_mz": float(row["right_mz"]), "index": int(row["index"])}
    return out


def _rms_quantity(rms: float, n: int, unit: str = "ppm") -> Quantity | None:
    """An rms residual (``unit``: ppm or bin) with the standard error of an rms from ``n`` normal residuals,
    ``rms/√(2(n−1))`` (Ahn & Fessler 2003, "Standard errors of mean, variance and standard deviation
    estimators", University of Michigan technical note)."""
    if rms is None or not np.isfinite(rms):
        return None
    if n < 2:
        return Quantity(float(rms), None, unit, why_no_uncertainty="an rms from fewer than two reference ions")
    return Quantity(float(rms), float(rms / np.sqrt(2 * (n - 1))), unit)


def _calibration_parameters(cal) -> dict[str, Quantity]:
    """The parameters of a channel → m/z calibration ``t = t0 + k·√(m/z) (+ c·m/z)`` as quantities, with
    the 1σ of the least-squares fit where it has one."""
    unc: list[float | None] = [float(u) for u in cal.uncertainties] if cal.uncertainties else [None] * len(cal.params)
    names = ("t0", "k", "c")
    units = ("channel", "channel/√(m/z)", "channel/(m/z)")
    return {names[i]: Quantity(float(v), unc[i], units[i], why_no_uncertainty=None if unc[i] is not None else
                               "the calibration carries no fit covariance")
            for i, v in enumerate(cal.params)}


def _quality_record(check) -> dict:
    """Calibration quality for results: model, rms (ppm, quantity) of the kept and the exported
    calibration, rms in bins, reference ions used and rejected, and whether the file's own was kept."""
    d = check.to_dict()
    n = len(check.used)
    d["rms"] = _rms_quantity(check.rms_ppm, n)
    d["exported_rms"] = _rms_quantity(check.exported_rms_ppm, n)
    d["rms_bins"] = _rms_quantity(check.rms_bins, n, "bin")
    d["exported_rms_bins"] = _rms_quantity(check.exported_rms_bins, n, "bin")
    d["params"] = _calibration_parameters(check.calibration)
    del d["rms_ppm"], d["exported_rms_ppm"]
    return d


def _reference_record(ref: dict) -> dict:
    """A calibration reference ion: exact m/z, fitted m/z and residual as quantities (ppm)."""
    return {"ion": ref["ion"],
            "mz_true": Quantity(float(ref["mz_true"]), None, "m/z", why_no_uncertainty=REFERENCE_MZ_WHY),
            "mz_fit": Quantity(float(ref["mz_fit"]), None, "m/z",
                               why_no_uncertainty="per-peak centroid uncertainties are not propagated"),
            "residual": Quantity(float(ref["residual_ppm"]), None, "ppm",
                                 why_no_uncertainty="per-peak centroid uncertainties are not propagated"),
            "channel": float(ref["t"]), "used": bool(ref["used"])}


#: Text files a folder given to a spectrum command stands for: exports and delimited tables of m/z and counts.
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")
#: Files a folder given to a spectrum command stands for: text exports and tables, and NumPy archives of
#: ``counts`` and ``mz`` (as spectra of other instruments are shared).
SPECTRUM_SUFFIXES = (*TEXT_SUFFIXES, ".npz")
#: Suffixes of compressed files: one of a spectrum file in a folder is named in a warning, not read.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip", ".7z")


#: Why the upper limit of an element not detected has no uncertainty: it is itself the uncertainty statement.
UPPER_LIMIT_WHY = NoUncertainty.bound(
    "a one-sided 3σ upper limit (max(x, 0) + 3σ of the ion's counts, the larger from the window fit and from "
    "the fit over the local continuum; Currie 1968, doi:10.1021/ac60259a007): the limit is itself the "
    "statement of uncertainty")
#: Why a species' m/z has no uncertainty: it is computed from tabulated isotopic masses.
EXACT_MZ_WHY = NoUncertainty.exact(
    "the exact m/z of the species' most abundant isotopologue, from tabulated isotopic masses (AME2012, "
    "Wang et al. 2012, doi:10.1088/1674-1137/36/12/003)")
#: Why a calibration reference ion's m/z has no uncertainty: it is computed from tabulated isotopic masses.
REFERENCE_MZ_WHY = NoUncertainty.exact(
    "the exact m/z of the reference ion, from tabulated isotopic masses (AME2012, Wang et al. 2012, "
    "doi:10.1088/1674-1137/36/12/003)")


#: Why the row of an element none of whose ions was fitted has no result.
NOT_TESTED = "not tested: none of its ions lies in the spectrum's m/z range or is expected in this polarity"


def _element_rows(fits, elements: Sequence[str], polarity: str) -> list[dict]:
    """One row per element: detected (intensity ± σ of its present species, evidence) or not detected
    with a 3σ upper limit; ``not_detected_because`` lists the presence tests that the form shown
    (the one of largest contrast) fails (``[]`` when detected).

    Intensity of a detected element: sum of its present species (counts), σ added in quadrature; an ion of
    two elements (Li₂F⁺, PF₆⁻) is a form of both and counts in both rows where its metal is established —
    named, found by the screening, or present by an ion of its own: Na₂F₃⁻ is no evidence of fluorine on a
    spectrum without sodium (46 counts of an organic ion at m/z 103 had counted as fluorine). The non-metals
    (F, Cl, P), which the screening never tests, are taken on the shared ion's own evidence (PF₆⁻ counts for
    fluorine named alone). An
    element none of whose ions was fitted (all beyond the spectrum's m/z range, or none expected in the
    polarity) was not tested: ``detected`` is None and no number is given.
    Upper limit of an element not detected: ``max(x, 0) + 3σ`` of its atomic ion M± (one-sided 3σ, the
    counting-statistics convention of Currie, *Anal. Chem.* 1968, doi:10.1021/ac60259a007), or of its
    best-constrained form when the atomic ion is out of range: the larger of the limits from the window fit
    and from the fit over the local continuum of the contrast test (:mod:`ionscope.spectra.presence`, test
    3). Each bounds the ion's counts at 3σ, so the larger does too, and each fails alone in its own way: the
    window fit credits an ion with every count at its masses that the other fitted species leave, so its limit
    fell as more elements were named (Ir⁻ on a negative Ru–Rh spectrum: < 46 700 counts named alone, < 3 700
    with five metals) although the continuum under Ir⁻ was the same (over it: < 46 700 and < 37 100); the
    local fit loses part of a many-isotope pattern to the continuum ramps (Pd⁺ of 150 simulated counts: 126
    on average over 40 spectra, against 144 from the window fit). The limit is on one ion, not on the
    element's total: the form fitted with the most counts bounds nothing where another ion shares its window
    (Li₂O⁺ on CH₄N⁺: "< 88 000"), and the total over every form where the forms share their masses with other
    elements' ions (Ir on the negative Ru–Rh spectrum: < 254 000). A form fitted above the limit is named in a
    warning (:func:`_forms_above_limit`).
    """
    established = (set(elements) | set(getattr(fits, "background", ())) | set(NONMETALS)
                   | {f.element for f in fits if f.present and not f.shared_with and not f.interference})
    rows = []
    for el in elements:
        mine = [f for f in fits if (f.element == el or el in f.shared_with) and not f.interference]
        counted = {f.formula for f in mine if f.present and {f.element, *f.shared_with} <= established}
        present = [f for f in mine if f.formula in counted]
        forms = [{"formula": f.formula, "intensity": Quantity(f.intensity, _fin(f.uncertainty), "counts"),
                  "significance": f.significance, "contrast": f.contrast, "pattern_score": f.score,
                  "present": f.formula in counted} for f in mine]
        row = {"element": el, "detected": bool(present), "forms": forms}
        if not mine:
            row.update(detected=None, intensity=None, upper_limit=None, upper_limit_form=None, significance=None,
                       contrast=None, pattern_score=None, evidence=[], not_detected_because=[NOT_TESTED])
        elif present:
            x = sum(f.intensity for f in present)
            s = float(np.sqrt(sum(_fin(f.uncertainty, 0.0) ** 2 for f in present)))
            row.update(intensity=Quantity(x, s, "counts"), upper_limit=None,
                       significance=max(f.significance for f in present),
                       contrast=max(f.contrast for f in present),
                       pattern_score=max(f.score for f in present), upper_limit_form=None,
                       evidence=[f.formula for f in present], not_detected_because=[])
        else:
            limit_of = _limit_form(mine, el + ("+" if polarity == "positive" else "-"))
            ul = _upper_limit(limit_of) if limit_of else float("nan")
            best = max(mine, key=lambda f: f.contrast)
            row.update(intensity=None, upper_limit_form=limit_of.formula if limit_of else None,
                       upper_limit=Quantity(ul, None, "counts", why_no_uncertainty=UPPER_LIMIT_WHY)
                       if np.isfinite(ul) else None,
                       significance=best.significance, contrast=best.contrast, pattern_score=best.score,
                       evidence=[], not_detected_because=list(best.failed))
        rows.append(row)
    return rows


def _auto_mode_note(fits, top: float) -> str:
    """What auto mode tested, and the one- and two-isotope elements it could not test on this spectrum."""
    untested = [e for e in _resolved_form_elements() if e not in fits.candidates and e not in fits.nuisance]
    note = ("auto mode tests the elements with a diagnostic isotope pattern (≥ 3 isotopes above 5 %), the "
            "chloride-forming metals by their chloro-complex ions where chlorine is seen, Rh and Ir, and the other "
            "one- and two-isotope metals and F, P, S, Cl, Br, I by their ions resolved from the molecular ions "
            "(C, H, N, O, Si, S) of the same nominal mass or lying where none can be (Li⁺, B⁺, Na⁺); gold is "
            "fitted, never reported; H, C, N, O, which make the molecular ions, are never tested, nor the ions of "
            "two elements (LiF₂⁻, PF₆⁻ …); name suspected elements with --elements")
    if untested:
        note += (f"; not tested here, no ion of theirs resolved at this resolution and binning from the molecular "
                 f"ions and from every ion of another one- or two-isotope element: {', '.join(untested)}")
    partly = _partly_tested(fits, top)
    if partly:
        note += ("; tested here by some of their ions only, the others not resolved (name the element to test "
                 "them all): " + "; ".join(f"{e} (not {', '.join(map(pretty_ion, fs))})" for e, fs in partly.items()))
    return note


def _partly_tested(fits, top: float) -> dict[str, list[str]]:
    """Non-metals auto mode tested by their resolved ions (:data:`~ionscope.spectra.elements.RESOLVED_NONMETALS`)
    and did not find, with their expected ions it could not test: their oxyanions are their main ions, and
    phosphorus tested by P⁻ and PO⁻ alone, where PO₂⁻ and PO₃⁻ of a phosphate lie within reach of molecular
    ions, is not shown absent."""
    found = {f.element for f in fits if f.present}
    out = {}
    for e in RESOLVED_NONMETALS:
        tested = {f.formula for f in fits if f.element == e}
        if e in fits.candidates and e not in found and tested:
            rest = [f for f, _ in _candidate_pairs([e], fits.polarity, None, top) if f not in tested]
            if rest:
                out[e] = rest
    return out


def _limit_form(forms: Sequence, atomic: str):
    """The species an element's upper limit is on (:func:`_element_rows`): its atomic ion ``atomic``, else its
    best-constrained form; None where no limit could be taken."""
    limits = {f.formula: _upper_limit(f) for f in forms}
    bounded = [f for f in forms if np.isfinite(limits[f.formula])]
    pool = [f for f in bounded if f.formula == atomic] or bounded
    return min(pool, key=lambda f: limits[f.formula], default=None)


def _forms_above_limit(rows: Sequence[dict]) -> list[str]:
    """A warning for each element not detected one of whose other forms was fitted with more counts than its
    limit: the limit bounds the ion named, not those counts, which the form's failed tests leave unexplained."""
    out = []
    for r in rows:
        ul = r.get("upper_limit")
        if r.get("detected") is not False or ul is None:
            continue
        above = [f for f in r["forms"] if f["formula"] != r["upper_limit_form"] and f["intensity"].value > ul.value]
        if above:
            f = max(above, key=lambda f: f["intensity"].value)
            x, u = f["intensity"].value, f["intensity"].uncertainty
            fails = ", ".join(r["not_detected_because"]) or "the tests"
            out.append(f"{r['element']} not detected (< {ul.value:.0f} counts of {pretty_ion(r['upper_limit_form'])}, "
                       f"3σ), but {pretty_ion(f['formula'])} was fitted with {x:.0f} ± {u:.0f} counts and fails "
                       f"{fails}: another ion's counts, or the element in a form its limit does not bound")
    return out


def _forms_left_out(rows: Sequence[dict], fits) -> list[str]:
    """A warning for each detected element with a form that passes the family-wise significance and pattern
    tests but not the contrast test, so that its counts are not in the element's total: F⁻ of 10⁵ counts (z 265)
    beside 3·10⁴ OH⁻ at m/Δm 1 000, whose misfit by the smooth background of the neighbouring nominal masses
    sets the scale of the contrast (2.3σ) — the total of fluorine was then its other ions' alone, −72 %."""
    found = {r["element"] for r in rows if r.get("detected")} | set(fits.present().keys()) | set(NONMETALS)
    out = []
    for r in rows:
        if not r.get("detected"):
            continue
        el = r["element"]
        left = [f for f in fits if (f.element == el or el in f.shared_with) and not f.interference
                and {f.element, *f.shared_with} <= found and f.formula not in r["evidence"]
                and f.significance >= fits.z_crit and set(f.failed) == {"contrast"}]
        if left:
            names = "; ".join(f"{pretty_ion(f.formula)} {f.intensity:.0f} ± {_fin(f.uncertainty, 0.0):.0f} counts (z "
                              f"{f.significance:.0f}, contrast {f.contrast:.1f}σ)" for f in left)
            out.append(f"{el}: {names} {'is' if len(left) == 1 else 'are'} fitted significantly with the isotope "
                       f"pattern but not counted in its total of {r['intensity'].value:.0f} counts: "
                       f"{'it does' if len(left) == 1 else 'they do'} not stand out of a smooth background over the "
                       "neighbouring nominal masses, whose scatter a strong ion there of an element not tested (O, H, "
                       "C …) can set (--json lists every form's counts)")
    return out


def _forms_not_fitted(rows: Sequence[dict], fits, top: float) -> list[str]:
    """Auto mode: a warning naming the detected elements it tests by their resolved ions alone
    (:func:`~ionscope.spectra.elements._resolved_form_elements`) with expected ions it did not fit, whose counts
    are then missing from their totals (cobalt at m/Δm 3 000 counted by Co⁺ alone, without CoO⁺, was 30 % low on a
    simulated spectrum)."""
    parts = []
    for r in rows:
        el = r["element"]
        if not r.get("detected") or el not in _resolved_form_elements():
            continue
        fitted = {f.formula for f in fits if f.element == el}
        missing = [f for f, _ in _candidate_pairs([el], fits.polarity, None, top) if f not in fitted]
        if missing:
            parts.append(f"{el} by {', '.join(map(pretty_ion, r['evidence']))} (not "
                         f"{', '.join(map(pretty_ion, missing))})")
    if not parts:
        return []
    return ["counted by the ions auto mode tells from the molecular ions here, so their totals are lower bounds of "
            "their ions' (name them with --elements to fit every form): " + "; ".join(parts)]


def _upper_limit(f) -> float:
    """One-sided 3σ upper limit (counts) of a species: the larger of ``max(x, 0) + 3σ`` from the window fit
    and from the fit over the local continuum (the contrast test's), each where it was made; NaN if neither."""
    limits = [max(x, 0.0) + 3 * u for x, u in ((f.intensity, f.uncertainty),
                                                (f.local_intensity, f.local_uncertainty)) if np.isfinite(u)]
    return max(limits, default=float("nan"))


#: Two-sided level of :func:`_high_mass_offset`: a warning, so a small chance of a false one per file.
OFFSET_ALPHA = 0.01


def _high_mass_offset(fits, above_mz: float, min_significance: float = 5.0) -> list[str]:
    """A warning when the species fitted at ≥ ``min_significance`` σ above the highest reference ion
    ``above_mz`` sit systematically to one side of their exact masses: the count centroids' offsets
    (``SpeciesFit.mass_offset``, window half-widths) tested for symmetry about zero by the signed-rank test
    (:func:`~ionscope.spectra.calibration.signed_rank_p_value`, two-sided, level :data:`OFFSET_ALPHA`, at
    least 6 species). The reference ions of a spectrum all lie at low m/z, where an error in the scale of
    the calibration is a fraction of a bin; at m/z 100–250 the same error moves the ions out of their
    windows. A species at ≥ 5σ has a centroid whose counting noise is small next to the offsets sought."""
    offsets = np.array([f.mass_offset for f in fits if not f.interference and f.significance >= min_significance
                        and f.mz > above_mz and np.isfinite(f.mass_offset)])
    if len(offsets) < 6:
        return []
    p = signed_rank_p_value(offsets)
    if p >= OFFSET_ALPHA:
        return []
    side = "below" if np.median(offsets) < 0 else "above"
    return [f"the {len(offsets)} ions fitted at ≥ {min_significance:g}σ above the highest reference ion (m/z "
            f"{above_mz:.0f}) sit systematically {side} their exact masses (median {np.median(offsets):+.2f} window "
            f"half-widths; Wilcoxon signed-rank p = {p:.1g}): the calibration is likely off at high m/z, where the "
            "common reference ions do not reach and the ions identified here did not mend it; detections and "
            "intensities there may be too low — name the elements you expect (--elements …: their ions found at "
            "≥ 5σ serve as reference ions up there), or recalibrate the export on ions of known identity up there "
            "in the acquisition software"]


def _beyond_range(elements: Sequence[str], polarity: str, top: float, forms: Sequence[str] | None,
                  chlorides: bool = False) -> list[str]:
    """Warnings for named elements some or all of whose ions (:func:`candidate_species` forms, with their
    (oxy)chloride ions where ``chlorides``) lie beyond the spectrum's highest m/z ``top``: a truncated export
    tests them by the rest, or not at all."""
    out = []
    for e in elements:
        inside, beyond = _split_at(top, _candidate_pairs([e], polarity, forms, None, chlorides))
        if beyond and not inside:
            out.append(f"{e}: all its ions ({', '.join(beyond)}) lie beyond the spectrum's m/z range (ends at "
                       f"{top:.1f}): not tested")
        elif beyond:
            out.append(f"{e}: {', '.join(beyond)} {'lies' if len(beyond) == 1 else 'lie'} beyond the spectrum's "
                       f"m/z range (ends at {top:.1f}): tested by its other ions only")
    return out


def _auto_beyond_range(fits, polarity: str, top: float, forms: Sequence[str] | None) -> list[str]:
    """A warning when candidate ions of auto mode's screening lie beyond the spectrum's highest m/z ``top``."""
    beyond = _split_at(top, _candidate_pairs(fits.candidates, polarity, forms))[1]
    if not beyond:
        return []
    return [f"the spectrum ends at m/z {top:.1f}: {len(beyond)} ions of the elements screened lie beyond it, so an "
            "element seen only there cannot be found"]


def _split_at(top: float, pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The formulas of (formula, element) ``pairs`` whose isotope pattern ends below m/z ``top``, and the rest
    (the range rule of :func:`~ionscope.spectra.forms.candidate_species`)."""
    below = [f for f, _ in pairs if _unit_pattern(f).mz.max() < top]
    return below, [f for f, _ in pairs if f not in below]


def _fin(v: float, default=None):
    return float(v) if np.isfinite(v) else default


def parse_elements(text: str | Sequence[str]) -> str | list[str]:
    """``"auto"`` or a validated list of element symbols, their case corrected where unambiguous
    (``"ru,pt"`` → ``["Ru", "Pt"]``, :func:`ionscope.library.isotopes.element_symbol`); unknown or
    ambiguous symbols raise ``ValidationError`` with a suggestion."""
    from ionscope.library.isotopes import element_symbol

    if isinstance(text, str):
        if text.strip().lower() == "auto":
            return "auto"
        text = [e.strip() for e in text.split(",") if e.strip()]
    els = list(dict.fromkeys(element_symbol(e) for e in text))
    if not els:
        raise ValidationError("no element given: pass --elements auto or symbols such as Ru,Pt,Pd")
    return els


def _same_primary_ion(a: str, b: str) -> bool | None:
    """Whether two spellings name one primary ion (``Bi1``, ``Bi+`` and ``Bi1+`` do); None when one of them is
    not an element symbol with a cluster size and charge."""
    parts = [re.fullmatch(r"([A-Z][a-z]?)(\d*)(\+*)", t.strip()) for t in (a, b)]
    if not all(parts):
        return None
    return len({(m.group(1), int(m.group(2) or 1), m.group(3) or "+") for m in parts if m}) == 1


def check_primary_ion(text: str | None, option: str = "primary_ion") -> None:
    """Refuse a primary ion that names no element of the isotope table, as identification would, but with
    ``option`` (``"--primary-ion"`` on the command line) and the accepted form in the message.

    Parameters
    ----------
    text
        The primary ion as given (``"Bi3+"``); ``None`` or empty passes.
    option
        Where it was given, for the message.

    Raises
    ------
    ValidationError
        One sentence naming ``option``, the value, the problem and the accepted form.
    """
    try:
        _primary_elements(text)
    except ValidationError as exc:
        why = exc.problem if re.search(r"[A-Z]", str(text)) else ("it holds no element symbol (symbols start "
                                                                  "with a capital letter)")
        raise ValidationError(f"{option} {text!r}: {why}; write the primary ion as an element symbol with an "
                              "optional cluster size and charge, e.g. Bi3+, Bi+, Au3+ or Ga+") from None


def identify_file(path: str | PathLike[str], *, elements: Sequence[str] | str = "auto", polarity: str | None = None,
                  recalibrate: bool = True, plot: str | PathLike[str] | None = None, force: bool = False,
                  figure_stem: str | None = None, **options) -> Result:
    """Read, calibrate and identify one spectrum file; one row per requested (or, in auto mode, detected)
    element. ``calibration`` records the model, rms ppm, reference ions used/rejected and whether the
    file's own calibration was kept (see :func:`ionscope.spectra.calibration.recalibrate`).

    Given a ``plot`` folder, one figure per element is drawn from the spectrum as identified
    (:func:`ionscope.spectra.plots.plot_identification`, named from ``figure_stem``, default the file's
    stem; an existing figure is replaced only with ``force``) and ``figures`` lists what was written
    (path, SHA-256, format, bytes); else it is None.

    The linear algebra runs with one BLAS thread: its matrices are at most a few hundred wide, where
    threads only add overhead — and on a loaded machine OpenBLAS's spinning threads made a 58 × 58
    pseudo-inverse 100× slower (measured).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), numpy_only_arrays():
        res, spec = _identify_file(path, elements=elements, polarity=polarity, recalibrate=recalibrate, **options)
    if plot is None:
        return res
    from ionscope.spectra.plots import plot_identification

    Path(plot).mkdir(parents=True, exist_ok=True)
    figures = plot_identification(res, spec, Path(plot), stem=figure_stem, force=force)["figures"]
    return Result(res.kind, {**res.values, "figures": figures}, res.warnings, res.provenance)


#: The elements of the molecular ions of every spectrum (McLafferty & Tureček, *Interpretation of Mass Spectra*,
#: 4th ed., 1993): what identification judges other ions against.
ORGANIC_ELEMENTS = ("H", "C", "N", "O")

#: Why their rows say little (:data:`ORGANIC_ELEMENTS`).
ORGANIC_NOTE = ("H, C, N and O make the molecular ions of every spectrum: their rows count only their atomic and "
                "oxide ions (C⁻, O⁻ …; not CH⁻, OH⁻, CN⁻ or carboxylates), and the contrast test, which judges an "
                "ion against those molecular ions, can fail even a strong one beside unmodelled neighbours; look "
                "their ions up with `ionscope library search --mz` and `ionscope spectrum peaks`")


def _identify_file(path, *, elements, polarity, recalibrate, **options) -> tuple[Result, xr.DataArray]:
    p = Path(path)
    raw = read_spectrum(p, polarity, counts_required=True)
    pol = _polarity_of(raw, p)
    warnings: list[str] = list(raw.attrs.get("read_warnings", []))
    recalibrating = recalibrate and "channel" in raw.coords
    if recalibrate and not recalibrating:
        warnings.append("not recalibrated: the file has no channel axis (m/z as read)")
    elif not recalibrate:
        warnings.append("not recalibrated: m/z as exported")
    auto = isinstance(elements, str) and elements == "auto"
    if not auto and not options.get("forms"):
        warnings += [f"{e}: no {pol} ion of it is expected ({NO_ION_WHY}): not tested"
                     for e in _untestable(elements, pol)]
    organic = [e for e in ORGANIC_ELEMENTS if not auto and e in elements]
    if organic:
        warnings.append(f"{', '.join(organic)} named — {ORGANIC_NOTE}")
    recorded = (raw.attrs.get("acquisition") or {}).get("primary_ion")
    if "primary_ion" not in options:
        options["primary_ion"] = recorded
    elif recorded and options["primary_ion"] and _same_primary_ion(options["primary_ion"], recorded) is False:
        warnings.append(f"--primary-ion {options['primary_ion']} used, although the file's metadata or name says "
                        f"{recorded}")
    if not options["primary_ion"]:
        warnings.append("the primary ion is unknown (neither the metadata nor a Bi1/Bi3/Au3 file-name tag says): its "
                        "ions are not fitted as nuisance and can pass for another element's; give --primary-ion")
    if not auto:
        warnings += [f"{e} is the element of the primary ion ({options['primary_ion']}): its ions are implanted by "
                     "the analysis beam and sputtered back, so finding them says nothing about the sample"
                     for e in _primary_elements(options["primary_ion"]) if e in elements]
    if recalibrating:
        check, spec, fits = _calibrated_identification(raw, pol, elements, options, p)
        warnings += list(check.warnings)
        used_mz = [r["mz_true"] for r in check.calibration.references
                   if r["used"] and r["ion"] not in check.lock_masses]
        if used_mz:
            warnings += _high_mass_offset(fits, float(max(used_mz)))
    else:
        check, spec, fits = None, raw, _identified(raw, p, pol, elements, options)
    if fits.background:
        warnings.append(f"also fitted, not reported: {', '.join(fits.background)} — found by the auto screening, "
                        "and fitted so that their ions cannot pass for the named elements' (name them for their "
                        "rows)")
    top = float(spec["mz"].max())
    if auto:
        warnings += _auto_beyond_range(fits, pol, top, options.get("forms"))
        names = list(fits.present().keys())
    else:
        warnings += _beyond_range(elements, pol, top, options.get("forms"), fits.chlorides)
        names = list(elements)
    rows = _element_rows(fits, names, pol)
    all_rows = _element_rows(fits, sorted({f.element for f in fits if not f.interference}), pol) if auto else rows
    warnings += _forms_above_limit(rows) + _forms_left_out(rows, fits)
    if auto:
        warnings += _forms_not_fitted(rows, fits, top)
        warnings.append(_auto_mode_note(fits, top))
    prov = make_provenance("ionscope.spectra.identify_elements", inputs=[p],
                           parameters={"elements": elements, "polarity": pol, "recalibrate": recalibrate, **options})
    return Result("spectrum.identify",
                  {"file": str(p), "polarity": pol, "elements": rows,
                   "calibration": _quality_record(check) if check else None,
                   "species": [{"formula": f.formula, "element": f.element, "mz": Quantity(f.mz, None, "m/z",
                                                                                           why_no_uncertainty=EXACT_MZ_WHY),
                                "intensity": Quantity(f.intensity, _fin(f.uncertainty), "counts"),
                                "significance": f.significance, "contrast": f.contrast, "pattern_score": f.score}
                               for f in fits if f.present],
                   "screened": {r["element"]: r for r in all_rows} if auto else None,
                   "background_elements": list(fits.background),
                   "detection_threshold": {"z": fits.z_crit, "tests": fits.n_tests},
                   "error": None, "figures": None, "table": None},
                  tuple(warnings), prov), spec


@contextmanager
def _errors_naming(path: Path | None) -> Iterator[None]:
    """A :class:`ValidationError` raised inside names ``path`` when it names no file."""
    try:
        yield
    except ValidationError as exc:
        if exc.path is not None:
            raise
        raise ValidationError(exc.problem, path) from None


def _calibrated(raw: xr.DataArray, check, path: Path | None) -> xr.DataArray:
    """``raw`` on the calibration of ``check`` (:func:`~ionscope.spectra.calibration.apply_calibration`), marked
    ``fitted_to_references`` unless it is the file's own kept; its errors name ``path``."""
    with _errors_naming(path):
        out = apply_calibration(raw, check.calibration)
    out.attrs["calibration"]["fitted_to_references"] = not check.kept_exported
    return out


def _identified(spec: xr.DataArray, path: Path | None, polarity: str, elements, options: dict):
    """:func:`identify_elements` on a calibrated spectrum; its errors name ``path``."""
    with _errors_naming(path):
        return identify_elements(spec, polarity=polarity, elements=elements, **options)


def _calibrated_identification(raw: xr.DataArray, polarity: str, elements, options: dict, path: Path | None,
                               **recalibration):
    """``raw`` recalibrated (:func:`~ionscope.spectra.calibration.recalibrate`), identified on that calibration,
    and both redone with the ions identified as further references (:func:`_with_lock_masses`):
    ``(check, spectrum, fits)``."""
    check, peaks = _recalibration(raw, polarity=polarity, source=path, **recalibration)
    spec = _calibrated(raw, check, path)
    fits = _identified(spec, path, polarity, elements, options)
    return _with_lock_masses(raw, (check, peaks), spec, fits, path, polarity, elements, options, **recalibration)


#: Most recalibrations with lock masses per spectrum (:func:`_with_lock_masses`).
LOCK_ROUNDS = 3


def _with_lock_masses(raw: xr.DataArray, first: tuple, spec: xr.DataArray, fits, path: Path | None, polarity: str,
                      elements, options: dict, **recalibration):
    """The recalibration ``first`` (check, peaks) redone on the same peaks with the ions identified at high
    significance as further references (:mod:`ionscope.spectra.lockmass`), and the identification redone where
    that changes the calibration: ``(check, spectrum, fits)``.

    An ion identified on one calibration can fail on the next (IrO⁺ used as a lock mass, then not detected on
    the calibration it helped make): the lock masses are then taken again from the new identification, until
    they are those of the identification the spectrum ends with, for at most :data:`LOCK_ROUNDS` rounds.
    """
    check, peaks = first
    current = check.calibration
    locked = _lock_mass_check(raw, check, peaks, fits, polarity=polarity, source=path, **recalibration)
    for _ in range(LOCK_ROUNDS):
        if locked.calibration.params == current.params:
            break
        spec, current = _calibrated(raw, locked, path), locked.calibration
        fits = _identified(spec, path, polarity, elements, options)
        again = _lock_mass_check(raw, check, peaks, fits, polarity=polarity, source=path, **recalibration)
        if set(again.lock_masses) == set(locked.lock_masses):
            break
        locked = again
    if locked.calibration.params != current.params:
        spec = _calibrated(raw, locked, path)
        fits = _identified(spec, path, polarity, elements, options)
    return locked, spec, fits


def _lock_mass_check(raw: xr.DataArray, check, peaks, fits, *, polarity: str | None, source, model: str = "sqrt",
                     references: Sequence[str] | None = None):
    """The recalibration ``check`` redone on its ``peaks`` with the ions of ``fits`` identified at ≥ 5σ as
    further references (:func:`ionscope.spectra.lockmass.lock_ions`); ``check`` itself when there are none, or
    when both are refits and ``check`` beats the one with lock masses on its references held out
    (:func:`~ionscope.spectra.calibration.refit_is_worse`): an identified ion sharing its peak with an unmodelled
    one (Li₂F₃⁻ and C₃H₃O₂⁻ 0.015 u apart at m/Δm 4 000) pulls the refit, and its tolerance of one FWHM then
    admits wrong peaks (C₆⁻ on a ¹³C isotopologue): rms 7 → 85 ppm. The test against the file's own
    calibration, which any sound refit beats, does not see that."""
    locks = lock_ions(fits)
    if not locks:
        return check
    again = _recalibration(raw, polarity=polarity, model=model, references=references, source=source,
                           lock_masses=locks, peaks=peaks)[0]
    if check.kept_exported or again.kept_exported or not refit_is_worse(again.calibration, check.calibration, peaks):
        return again
    return check


def spectrum_files(paths: Sequence[str | PathLike[str]], skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Expand files and folders (a folder means its spectrum files, :data:`SPECTRUM_SUFFIXES`, sorted) into a
    file list. A text file of a folder that cannot be a spectrum export (:func:`_has_numeric_rows`: ``notes.txt``
    beside the exports) is left out, as is a compressed spectrum file (``P_a.txt.gz``), and each is added to
    ``skipped`` with the reason; a file named is never left out.

    A Zarr store is a folder but one dataset: it is listed as a file, so that reading it says what it
    holds (e.g. a depth profile) rather than that the folder has no spectra. A file reached more than once
    (named twice, through its folder or a glob, or by another spelling of its path: ``./a.txt``,
    ``dir/../a.txt``) is listed once, where it first appears; a link of another name is a file of its own, as its
    name can carry the polarity, the primary ion and the sample.

    Raises
    ------
    InputNotFoundError
        A path that does not exist, or nothing to analyse at all (e.g. an empty glob or folder).
    """
    from ionscope.model.errors import InputNotFoundError

    out: list[Path] = []
    for raw in _expand_globs(paths):
        p = Path(raw)
        if p.is_dir() and not is_dataset_folder(p):
            for q in sorted(q for q in p.iterdir() if q.is_file()):
                why = _left_out_because(q)
                if why is None and q.suffix.lower() in SPECTRUM_SUFFIXES:
                    out.append(q)
                elif why is not None and skipped is not None:
                    skipped.append((q, why))
        elif p.exists():
            out.append(p)
        else:
            raise InputNotFoundError("no such file or folder" + (" (a glob that matched nothing?)"
                                                                  if _is_glob(str(p)) else ""), p)
    if not out:
        first_path = Path(paths[0]) if paths else None
        nested = first_path is not None and first_path.is_dir() and any(
            q.suffix.lower() in SPECTRUM_SUFFIXES for q in first_path.glob("*/*") if q.is_file())
        raise InputNotFoundError("no spectrum files to analyse (empty folder or glob)" if not nested else
                                 "no spectrum files directly in this folder (its subfolders hold some: name them, "
                                 "or a glob such as FOLDER/*/*.txt)", first_path)
    first: dict[str, Path] = {}
    for p in out:
        first.setdefault(os.path.normcase(os.path.abspath(p)), p)
    return list(first.values())


#: Why a folder's file is left out (:func:`spectrum_files`).
SKIPPED_NOT_EXPORT = "not spectrum exports (neither a row of numbers nor an m/z column header in their first lines)"
SKIPPED_COMPRESSED = "compressed (decompress them to analyse them)"


def _left_out_because(path: Path) -> str | None:
    """Why a folder's file is left out of a batch: a compressed spectrum file, or a text file that cannot be a
    spectrum export (:func:`_has_numeric_rows`); None for the others."""
    suffix = path.suffix.lower()
    if suffix in COMPRESSED_SUFFIXES and Path(path.stem).suffix.lower() in SPECTRUM_SUFFIXES:
        return SKIPPED_COMPRESSED
    if suffix in TEXT_SUFFIXES and not _has_numeric_rows(path):
        return SKIPPED_NOT_EXPORT
    return None


#: Bytes of a text file read to tell a spectrum export from another text file (:func:`_has_numeric_rows`): the
#: header of an IONTOF export is a few hundred bytes.
HEAD_BYTES = 16384


def _has_numeric_rows(path: Path) -> bool:
    """Whether a text file can be a spectrum export: empty (a failed export, reported as such), not UTF-8 text
    (UTF-16, binary: an export gone wrong, whose row says how), or its first :data:`HEAD_BYTES` hold a row of at
    least two numbers (tab, comma, semicolon or space separated; a decimal comma allowed) or a column header naming
    m/z, mass or channels (an export cut after its header)."""
    from ionscope.io.registry import UTF16_BOMS, looks_binary

    try:
        with open(path, "rb") as fh:
            raw = fh.read(HEAD_BYTES)
    except OSError:
        return True  # reading it again will say what is wrong
    if raw[:2] in UTF16_BOMS or looks_binary(raw):
        return True
    head = raw.decode("utf-8", "replace")
    number = r"[-+]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][-+]?\d+)?"
    return (not head.strip() or re.search(r"m/z|\bmass\b|\bchannel", head, re.IGNORECASE) is not None
            or re.search(rf"^\s*{number}(?:[\t;, ]+{number})+\s*$", head, re.MULTILINE) is not None)


def _expand_globs(paths: Sequence[str | PathLike[str]]) -> list[str | PathLike[str]]:
    """Each path that does not exist but holds glob characters (``*?[``, e.g. quoted on the command line or
    given on Windows, where the shell does not expand them) replaced by its sorted matches; no match leaves
    it as given, so that the caller reports it."""
    import glob

    out: list[str | PathLike[str]] = []
    for raw in paths:
        text = str(raw)
        matches = sorted(glob.glob(text)) if not Path(text).exists() and _is_glob(text) else []
        out += matches or [raw]
    return out


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


@dataclass(frozen=True)
class BatchIdentification(RecordSequence[Result]):
    """The identifications of a batch (:func:`identify_batch`): one ``spectrum.identify`` Result per file,
    in file order. Indexing, ``len`` and iteration go over the per-file results; :meth:`table` is the
    long table (:func:`long_table`)."""

    items_field: ClassVar[str] = "results"
    results: tuple[Result, ...]

    def table(self) -> pd.DataFrame:
        """One row per file and element (:func:`long_table`)."""
        return long_table(self.results)

    def to_dict(self) -> dict:
        return {"results": [r.to_dict() for r in self.results]}


#: A batch worker's start (a fresh interpreter importing the analysis and SciPy's compiled peak finder and NNLS,
#: ≈ 1.7 s) in spectra of the size of the Laurent et al. (2024) exports (≈ 0.13 s each), measured on 2 cores.
SPECTRA_PER_WORKER_START = 13

#: The same with ``--plot``: one figure per element at ≈ 0.2 s each makes a spectrum cost ≈ 1 s, and the worker
#: also imports matplotlib (≈ 2.2 s in all).
PLOTTED_SPECTRA_PER_WORKER_START = 2


def identify_batch(paths: Sequence[str | PathLike[str]], *, elements: Sequence[str] | str = "auto",
                   polarity: str | None = None, recalibrate: bool = True,
                   on_file: Callable[[Path], object] | None = None, plot: str | PathLike[str] | None = None,
                   force: bool = False, workers: int | None = 1,
                   on_workers: Callable[[int], object] | None = None, **options) -> BatchIdentification:
    """:func:`identify_file` over many files; a file that fails gives a Result whose ``error`` says why
    (its element rows are marked not analysed; no figures) and the others go on. ``on_file(path)`` is
    called after each file (progress). In auto mode every file gets a row for every element detected in
    any file. Files of the same name in different folders get figures named apart
    (:func:`ionscope.spectra.plots.figure_stems`).

    ``workers`` caps the worker processes (None: every core available); as many start as pay for their
    start (:func:`ionscope.kernels.parallel.worker_count`, :data:`SPECTRA_PER_WORKER_START`,
    :data:`PLOTTED_SPECTRA_PER_WORKER_START`), none for a few files. More than one needs the calling script
    guarded by ``if __name__ == "__main__":`` (they are spawned). The results do not depend on it.
    ``on_workers(n)`` is called with the number of processes before they start (a progress bar's stage name:
    their start takes a few seconds before the first file is done).
    """
    from ionscope.kernels.parallel import ordered_map, worker_count
    from ionscope.spectra.plots import figure_stems

    files = spectrum_files(paths)
    stems = figure_stems(files) if plot is not None else {}
    n = worker_count(len(files), workers,
                     SPECTRA_PER_WORKER_START if plot is None else PLOTTED_SPECTRA_PER_WORKER_START)
    task = partial(_identify_or_error, elements=elements, polarity=polarity, recalibrate=recalibrate, plot=plot,
                   force=force, **options)
    if on_workers is not None:
        on_workers(n)
    out = ordered_map(task, [(p, stems.get(p)) for p in files], n,
                      on_done=None if on_file is None else (lambda item: on_file(item[0])),
                      initializer=_compiled_solvers if n > 1 or len(files) > 3 else None)
    if isinstance(elements, str) and elements == "auto":
        union = sorted({r["element"] for res in out for r in res["elements"]})
        out = [_with_rows(res, union) for res in out]
    else:
        out = [res if res["error"] is None else _with_rows(res, list(elements)) for res in out]
    return BatchIdentification(tuple(out))


def _compiled_solvers() -> None:
    """Import SciPy's compiled peak finder and NNLS (~0.5 s), which the analysis then uses: it pays for
    itself over a few files."""
    import scipy.optimize
    import scipy.signal  # noqa: F401


def _identify_or_error(item: tuple[Path, str | None], *, elements, **kwargs) -> Result:
    """:func:`identify_file` of ``item`` = (path, figure stem), or the Result of a file that could not be
    analysed (its ``error`` says why: an ionscope error's message, or an unexpected one named as such, so that
    one file never ends a batch)."""
    from ionscope.model.errors import IonscopeError

    p, stem = item
    try:
        return identify_file(p, elements=elements, figure_stem=stem, **kwargs)
    except Exception as exc:  # one file's failure, whatever it is, must not end a batch of many
        problem = exc.cli_problem if isinstance(exc, IonscopeError) else (
            f"{p}: unexpected error ({type(exc).__name__}: {exc}); please report it with the file")
        prov = make_provenance("ionscope.spectra.identify_elements", inputs=[p] if Path(p).is_file() else [],
                               parameters={"elements": elements})
        return Result("spectrum.identify", {"file": str(p), "polarity": None, "elements": [], "calibration": None,
                                            "species": [], "screened": None, "background_elements": [],
                                            "detection_threshold": None,
                                            "error": problem,
                                            "figures": None if kwargs.get("plot") is None else [], "table": None},
                      (), prov)


def _with_rows(res: Result, names: list[str]) -> Result:
    rows: list[dict[str, Any]]
    if res["error"] is not None:
        rows = [{"element": e, "detected": None, "intensity": None, "upper_limit": None, "significance": None,
                 "contrast": None, "pattern_score": None, "evidence": [], "not_detected_because": [], "forms": []}
                for e in names]
    else:
        screened = res["screened"] or {}
        have = {r["element"]: r for r in res["elements"]}
        rows = [have.get(e) or screened.get(e) or {"element": e, "detected": False, "intensity": None,
                                                   "upper_limit": None, "significance": None, "contrast": None,
                                                   "pattern_score": None, "evidence": [],
                                                   "not_detected_because": ["not screened"],
                                                   "forms": []}
                for e in names]
    values = dict(res.values)
    values["elements"] = rows
    return Result(res.kind, values, res.warnings, res.provenance)


#: Columns of :func:`long_table`, units in the name: σ columns are one standard deviation, the upper limit
#: is 3σ (Currie 1968, doi:10.1021/ac60259a007), ``significance_sigma`` and ``contrast_sigma`` are z values.
TABLE_COLUMNS = ("file", "sha256", "polarity", "calibration", "calibration_rms_ppm", "calibration_rms_sigma_ppm",
                 "element", "detected", "intensity_counts", "intensity_sigma_counts", "upper_limit_3sigma_counts",
                 "upper_limit_form", "significance_sigma", "contrast_sigma", "pattern_score", "evidence",
                 "not_detected_because", "error")


def long_table(results: Sequence[Result]) -> pd.DataFrame:
    """One row per file and element (pandas DataFrame with :data:`TABLE_COLUMNS`); ``file`` is the path as
    given (files of the same name in different folders stay apart), ``sha256`` the file's content hash from
    its provenance (empty when it could not be read). ``calibration`` is
    ``exported`` (the file's own calibration kept) or ``refit``; ``evidence`` lists, ``;``-separated, the
    forms whose intensities make up ``intensity_counts``, and ``not_detected_because`` the presence tests
    an element not detected fails (or why it was not tested)."""
    import pandas as pd

    rows = []
    for res in results:
        cal = res["calibration"] or {}
        rms = cal.get("rms")
        sha256 = next((i["sha256"] for i in res.provenance.get("inputs", ()) if i.get("sha256")), None)
        base = {"file": str(res["file"]), "sha256": sha256,
                "polarity": res["polarity"], "calibration": cal.get("source"),
                "calibration_rms_ppm": rms.value if rms else None,
                "calibration_rms_sigma_ppm": rms.uncertainty if rms else None, "error": res["error"]}
        for r in res["elements"] or [{"element": None}]:
            q, ul = r.get("intensity"), r.get("upper_limit")
            rows.append({**base, "element": r.get("element"), "detected": r.get("detected"),
                         "intensity_counts": q.value if q else None,
                         "intensity_sigma_counts": q.uncertainty if q else None,
                         "upper_limit_3sigma_counts": ul.value if ul else None,
                         "upper_limit_form": r.get("upper_limit_form"),
                         "significance_sigma": r.get("significance"), "contrast_sigma": r.get("contrast"),
                         "pattern_score": r.get("pattern_score"), "evidence": ";".join(r.get("evidence") or []),
                         "not_detected_because": ";".join(r.get("not_detected_because") or [])})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


__all__ = ["REFERENCE_IONS", "BatchIdentification", "calibration_result", "check_primary_ion", "identify_batch",
           "identify_file", "long_table", "parse_elements", "peaks_result", "read_spectrum", "spectrum_files"]
