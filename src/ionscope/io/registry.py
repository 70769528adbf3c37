"""Reader/writer registry: ``ionscope.read(path)`` dispatches to format plugins.

A format plugin is a module in :mod:`ionscope.io` that defines ``PLUGIN = FormatPlugin(...)`` (or a
list ``PLUGINS``), or a third-party package exposing one under the entry-point group
``ionscope.formats``. A plugin states its name, the file extensions it claims, the data kinds it
returns, a cheap ``sniff`` that looks at the first bytes, and ``read``/``write`` functions that turn
files into the data model and back, and nothing else.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from os import PathLike
from pathlib import Path
from typing import Any

import pydantic

from ionscope.io.checks import require_dir, require_file
from ionscope.model.errors import (
    FormatError,
    InputNotFoundError,
    IonscopeError,
    UnknownFormatError,
    UnsupportedError,
    ValidationError,
)

#: Bytes handed to ``sniff`` functions.
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class FormatPlugin:
    """Declarative description of one file format.

    Attributes
    ----------
    name
        Short identifier used with ``format=`` and ``--format`` (e.g. ``"imzml"``): lower case, words joined
        by hyphens (``"iontof-spectrum"``). A name given by a user matches with ``_`` for ``-`` and in any
        case (:func:`format_key`).
    extensions
        Lower-case suffixes the plugin claims, with the dot (``".imzml"``; ``".tiff.zip"`` allowed).
    kinds
        Data kinds the reader returns (see :data:`ionscope.model.KIND_DIMS`, or ``"events"``…).
    description
        One line for ``docs/formats.md`` and ``ionscope formats``.
    read
        ``read(path, **options)`` → ionscope data. Must raise :class:`~ionscope.model.FormatError`
        subclasses for bad input, before any large allocation.
    sniff
        ``sniff(path, head: bytes) -> bool``: cheap content test for files with unknown extensions.
    write
        Optional ``write(obj, path, *, force=False, **options)``.
    is_directory
        The format is a folder (Zarr store, a folder of per-frame exports…).
    options
        Reader option name → one-line description (for ``ionscope formats`` and the docs).
    options_model
        The declared schema of the reader options: a :class:`ReaderOptions` subclass. Options are
        validated against it (unknown names, wrong types, out-of-range values) before the reader
        runs. Plugins without one get a schema derived from the ``read`` signature.
    generic
        The format is a generic layout (a numeric CSV table): its extensions alone do not make a file one
        of its files, its ``sniff`` must accept the content too (a folder's other CSV files are not data).
    """

    name: str
    extensions: tuple[str, ...]
    kinds: tuple[str, ...]
    description: str
    read: Callable[..., Any] | None = None
    sniff: Callable[[Path, bytes], bool] | None = None
    write: Callable[..., Any] | None = None
    is_directory: bool = False
    options: dict[str, str] = field(default_factory=dict)
    options_model: type[pydantic.BaseModel] | None = None
    generic: bool = False


class ReaderOptions(pydantic.BaseModel):
    """Base of the per-reader option schemas: unknown options are refused, strings are parsed.

    The CLI passes every ``-o KEY=VALUE`` as a string; pydantic turns ``"-3"``, ``"1e-7"``,
    ``"true"`` into the declared number or boolean and refuses what does not parse.
    """

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


#: A strictly positive, finite float (sizes, widths, tolerances).
PositiveFloat = typing.Annotated[float, pydantic.Field(gt=0, allow_inf_nan=False)]
#: A finite float.
FiniteFloat = typing.Annotated[float, pydantic.Field(allow_inf_nan=False)]
#: A strictly positive integer (pixel counts).
PositiveInt = typing.Annotated[int, pydantic.Field(gt=0)]


_PLUGINS: dict[str, FormatPlugin] = {}
_DISCOVERED = False
#: Modules of ``ionscope.io`` that define no format plugin: discovery does not import them (it imports
#: every other module to find its ``PLUGIN``), so a read does not pay for their imports.
_INFRASTRUCTURE = {"registry", "atomic", "checks", "events", "imzml_index", "imzml_scan", "imzml_sums", "imzml_write",
                   "mesh", "operando_series", "profile_tables", "tiff_stack", "tof_check", "variables"}


def format_key(name: str) -> str:
    """``name`` as format names are compared: lower case, ``_`` read as ``-`` (``iontof_profile`` →
    ``iontof-profile``), so the older underscore spellings keep working."""
    return name.strip().lower().replace("_", "-")


def register(plugin: FormatPlugin, *, replace: bool = False) -> FormatPlugin:
    """Add ``plugin`` to the registry (third-party code may call this directly).

    Two names that differ only in ``-``/``_`` or case are the same format (:func:`format_key`).
    """
    same = [k for k in _PLUGINS if format_key(k) == format_key(plugin.name)]
    if same and not replace and _PLUGINS[same[0]] is not plugin:
        raise ValueError(f"a format named {same[0]!r} is already registered")
    for k in same:
        del _PLUGINS[k]
    _PLUGINS[plugin.name] = plugin
    return plugin


_FAILED: dict[str, str] = {}


def _discover() -> None:
    """Register the plugins of ``ionscope.io`` and of the ``ionscope.formats`` entry points.

    A plugin that cannot be imported or loaded is skipped and recorded (:func:`failed_plugins`):
    one broken format never stops the others from reading.
    """
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    import ionscope.io as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in _INFRASTRUCTURE:
            continue
        _register_from(f"ionscope.io.{info.name}",
                       functools.partial(importlib.import_module, f"ionscope.io.{info.name}"))
    for ep in entry_points(group="ionscope.formats"):
        _register_from(f"{ep.name} ({ep.value})", ep.load)


def _register_from(source: str, load: Callable[[], Any]) -> None:
    try:
        obj = load()
        found = (getattr(obj, "PLUGINS", [getattr(obj, "PLUGIN", None)]) if isinstance(obj, types.ModuleType)
                 else obj if isinstance(obj, (list, tuple)) else [obj])
        for plugin in found:
            if plugin is not None:
                register(plugin, replace=True)
    except Exception as exc:  # a plugin's own bug: reported by `ionscope formats`, never fatal
        _FAILED[source] = f"{type(exc).__name__}: {exc}"


def failed_plugins() -> dict[str, str]:
    """Format plugins that could not be loaded: source → the error they raised."""
    _discover()
    return dict(_FAILED)


def plugins() -> dict[str, FormatPlugin]:
    """All registered format plugins by name."""
    _discover()
    return dict(sorted(_PLUGINS.items()))


def _suffix_matches(path: Path, plugin: FormatPlugin) -> bool:
    name = path.name.lower().rstrip("/")
    return any(name.endswith(ext) for ext in plugin.extensions)


def find_plugin(path: str | PathLike[str], format: str | None = None, *, for_writing: bool = False) -> FormatPlugin:
    """Choose the plugin for ``path``: by ``format`` name, by extension, then by sniffing content."""
    table = plugins()
    p = Path(path)
    if format is not None:
        # names are matched with '-' and '_' alike (iontof-profile, iontof_profile), case-insensitively
        spelt = {format_key(k): v for k, v in table.items()}
        named = spelt.get(format_key(format))
        if named is None:
            raise UnknownFormatError(f"unknown format {format!r}; known formats: {', '.join(table)}", p)
        plugin = named
        if (plugin.write if for_writing else plugin.read) is None:
            raise UnsupportedError(f"format {format!r} cannot be {'written' if for_writing else 'read'}", p)
        return plugin
    usable = [pl for pl in table.values() if (pl.write if for_writing else pl.read) is not None]
    by_ext = sorted((pl for pl in usable if _suffix_matches(p, pl)),
                    key=lambda pl: -max(len(e) for e in pl.extensions if p.name.lower().endswith(e)))
    if for_writing:
        if by_ext:
            return by_ext[0]
        what = ("is a folder: name the output with the extension of a writable format" if p.is_dir() and not p.suffix
                else f"no writer for the extension {''.join(p.suffixes) or '(none)'}")
        raise UnknownFormatError(
            f"{what}; writable formats: "
            + ", ".join(f"{pl.name} ({'/'.join(pl.extensions)})" for pl in usable), p)
    head = b""
    if p.is_file():
        with open(p, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    for plugin in by_ext:
        if plugin.sniff is None or plugin.sniff(p, head):
            return plugin
    for plugin in usable:
        if plugin.sniff is not None and plugin not in by_ext and plugin.is_directory == p.is_dir():
            if plugin.sniff(p, head):
                return plugin
    if by_ext:
        wanted = ", ".join(pl.name for pl in by_ext)
        raise UnknownFormatError(f"it begins {_first_line(head)}: the content does not match what its extension "
                                 f"suggests ({wanted}; `ionscope formats` describes each)", p)
    if p.suffix.lower() == ".ibd":
        raise UnknownFormatError("is the binary half of an imzML pair: open the .imzML file beside it", p)
    what = "a folder that is not a store" if p.is_dir() else "not a format"
    raise UnknownFormatError(f"{what} ionscope reads (run `ionscope formats` for the list)", p)


def _first_line(head: bytes) -> str:
    """The first line of a file's head, shortened, for an error message; a binary head (a NUL byte, or
    mostly bytes that are not printable text) is described, not printed."""
    if head[:2] in UTF16_BOMS:
        return "with a UTF-16 byte-order mark: save the export as UTF-8 or ANSI text"
    if looks_binary(head):
        magic = head[:4].hex(" ")
        return f"with binary data (first bytes {magic}), not text" if head else "empty"
    if head and not head.strip():
        return "with blank lines only"
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    return repr(line[:60] + ("…" if len(line) > 60 else "")) if line else "empty"


#: Byte-order marks of UTF-16 text (little- and big-endian).
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def looks_binary(head: bytes) -> bool:
    """Whether the first 512 bytes of ``head`` are binary data, not text: a NUL byte, or more than 30 % of the
    characters not text (:func:`_binary_share`; a Latin-1 export has a few such, random bytes about half)."""
    return b"\0" in head[:512] or _binary_share(head[:512]) > 0.3


def _binary_share(head: bytes) -> float:
    """Fraction of the characters of ``head`` that are not text: control characters other than tab, CR, LF
    and FF, and bytes that are not UTF-8 (a Latin-1 ``µ`` or ``°`` in an ANSI export is a few of these, random
    binary data about half)."""
    if not head:
        return 0.0
    chars = head.decode("utf-8", errors="replace")
    return sum(c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f") for c in chars) / len(chars)


@functools.cache
def _derived_model(read: Callable[..., Any], name: str) -> type[pydantic.BaseModel]:
    """An option schema from a reader's signature (keyword parameters after the path)."""
    try:
        hints = typing.get_type_hints(read)
    except Exception:  # unresolvable annotations: accept any value of the named options
        hints = {}
    fields: dict[str, Any] = {}
    params = list(inspect.signature(read).parameters.values())[1:]
    for prm in params:
        if prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD):
            continue
        default = ... if prm.default is prm.empty else prm.default
        fields[prm.name] = (hints.get(prm.name, Any), default)
    return pydantic.create_model(f"{name}_options", __base__=ReaderOptions, **fields)


def options_model(plugin: FormatPlugin) -> type[pydantic.BaseModel]:
    """The option schema of ``plugin``'s reader (declared, or derived from its signature)."""
    if plugin.options_model is not None:
        return plugin.options_model
    if plugin.read is None:
        return ReaderOptions
    return _derived_model(plugin.read, plugin.name)


def validate_options(plugin: FormatPlugin, path: str | PathLike[str] | None,
                     options: dict[str, Any]) -> dict[str, Any]:
    """Check ``options`` against the reader's schema; return the parsed values the user set.

    Raises
    ------
    ValidationError
        One sentence naming the option, the problem and the options the reader accepts.
    """
    model = options_model(plugin)
    accepted = ", ".join(sorted(model.model_fields)) or "none"
    try:
        parsed = model.model_validate(options)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err.get("loc", ())) or "?"
        if err.get("type") == "extra_forbidden" and key == "salvage":
            msg = f"--salvage: the {plugin.name} reader cannot read part of a truncated file"
        elif err.get("type") == "extra_forbidden":
            msg = f"unknown reader option {key!r} for the {plugin.name} reader; accepted options: {accepted}"
        else:
            value = options.get(key, err.get("input"))
            msg = (f"reader option {key}={value!r} is invalid for the {plugin.name} reader "
                   f"({err.get('msg', 'invalid')}); accepted options: {accepted}")
        raise ValidationError(msg, path) from None
    return {k: getattr(parsed, k) for k in parsed.model_fields_set}


def read(path: str | PathLike[str], format: str | None = None, **options: Any) -> Any:
    """Read any supported file into the ionscope data model.

    Parameters
    ----------
    path
        File or folder (Zarr stores are folders).
    format
        Name of a registered format to skip detection (see :func:`plugins`).
    **options
        Passed to the format's reader (e.g. ``lazy=True``, ``polarity="negative"``).
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such file or folder", p)
    if p.is_file():
        require_file(p)
    plugin = find_plugin(p, format)
    if plugin.is_directory:
        require_dir(p)
    else:
        require_file(p)
    reader = plugin.read
    if reader is None:  # find_plugin returns only plugins that read
        raise UnsupportedError(f"format {plugin.name!r} cannot be read", p)
    return reader(p, **validate_options(plugin, p, options))


def holding(data: Any) -> str:
    """What ``data`` is, for messages: ``"a spectrum"``, ``"a depth profile"``, ``"2 unlabelled arrays
    (counts, mz)"`` (a NumPy archive's bare arrays)."""
    kind = str(getattr(data, "attrs", {}).get("kind") or "")
    arrays = [str(v) for v in getattr(data, "data_vars", {})]
    if kind == "arrays" or (not kind and arrays):
        n = len(arrays)
        return f"{n} unlabelled array{'' if n == 1 else 's'} ({', '.join(arrays)})" if n else "no arrays"
    if not kind:
        try:
            from ionscope.model.arrays import kind_of

            kind = str(kind_of(data))
        except Exception:
            kind = ""
    kind = kind.replace("_", " ") or "dataset without an m/z axis"
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def wrong_content(path: str | PathLike[str], expected: str) -> IonscopeError:
    """The error for ``path`` given where ``expected`` was (e.g. ``"an image stack"``), found by content
    sniffing as ``ionscope.read`` does: ``holds a spectrum, not an image stack``; a file no reader takes
    gets the registry's own error (``not a format ionscope reads``).

    A format that returns one kind of data is named without reading the file; otherwise the file is read
    to tell (this runs only on the error path).
    """
    p = Path(path)
    try:
        plugin = find_plugin(p)
        kinds = [k for k in plugin.kinds if k != "any"]
        what = ("an " if kinds[0][0] in "aeiou" else "a ") + kinds[0].replace("_", " ") if len(kinds) == 1 \
            else holding(read(p))
    except IonscopeError as exc:
        return exc
    return FormatError(f"holds {what} ({plugin.name}), not {expected}", p)


def check_output(path: str | PathLike[str], format: str | None = None, *, force: bool = False) -> FormatPlugin:
    """The writer for ``path``, after refusing, before any work, an output it could not or must not write.

    In this order: no writer takes the extension (or ``format``); the path lies below a file or in a
    read-only folder (:func:`~ionscope.io.atomic.check_parent_writable`); the path exists but is not an
    output of that writer (a folder that is not its store, a file where a store goes), which ``force``
    never replaces; the path exists and ``force`` is not given.

    Parameters
    ----------
    path
        The output as given.
    format
        Writer name; default: from the extension.
    force
        Replace an existing output of the same kind.

    Returns
    -------
    FormatPlugin
        The writer.
    """
    from ionscope.io.atomic import check_parent_writable, check_replaceable

    plugin = find_plugin(path, format, for_writing=True)
    p = Path(path)
    ours = None
    if plugin.is_directory and plugin.sniff is not None:
        sniff = plugin.sniff

        def ours(q: Path) -> bool:
            return bool(sniff(q, b""))

    check_parent_writable(p)
    check_replaceable(p, force, what=f"a {plugin.name} store" if plugin.is_directory else f"a {plugin.name} file",
                      directory=plugin.is_directory, ours=ours)
    return plugin


def write(obj: Any, path: str | PathLike[str], format: str | None = None, *, force: bool = False,
          **options: Any) -> Path:
    """Write ``obj`` to ``path`` in ``format`` (chosen from the extension when not given), atomically.

    The output is checked first (:func:`check_output`): an existing folder that is not this writer's
    store is never replaced, even with ``force``.
    """
    plugin = check_output(path, format, force=force)
    writer = plugin.write
    if writer is None:  # find_plugin returns only plugins that write
        raise UnsupportedError(f"format {plugin.name!r} cannot be written", Path(path))
    writer(obj, Path(path), force=force, **options)
    return Path(path)
