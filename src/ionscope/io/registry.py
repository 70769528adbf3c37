"""Reader/writer registry: ``ionscope.read(path)`` dispatches to format plugins.

A format plugin is a module in :mod:`ionscope.io` that defines ``PLUGIN = FormatPlugin(...)`` (or a
list ``PLUGINS``), or a third-party package exposing one under the entry-point group
``ionscope.formats``. A plugin states its name, the file extensions it claims, the data kinds it
returns, a cheap ``sniff`` that looks at the first bytes, and ``read``/``write`` functions that turn
files into the data model and back, and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from os import PathLike
from pathlib import Path
from typing import Any

from ionscope.io.checks import require_dir, require_file
from ionscope.model.errors import InputNotFoundError, UnknownFormatError, UnsupportedError

#: Bytes handed to ``sniff`` functions.
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class FormatPlugin:
    """Declarative description of one file format.

    Attributes
    ----------
    name
        Short identifier used with ``format=`` and ``--format`` (e.g. ``"imzml"``).
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


_PLUGINS: dict[str, FormatPlugin] = {}
_DISCOVERED = False
_INFRASTRUCTURE = {"registry", "atomic", "checks"}


def register(plugin: FormatPlugin, *, replace: bool = False) -> FormatPlugin:
    """Add ``plugin`` to the registry (third-party code may call this directly)."""
    if plugin.name in _PLUGINS and not replace and _PLUGINS[plugin.name] is not plugin:
        raise ValueError(f"a format named {plugin.name!r} is already registered")
    _PLUGINS[plugin.name] = plugin
    return plugin


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    import ionscope.io as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in _INFRASTRUCTURE:
            continue
        module = importlib.import_module(f"ionscope.io.{info.name}")
        for plugin in getattr(module, "PLUGINS", [getattr(module, "PLUGIN", None)]):
            if plugin is not None:
                register(plugin, replace=True)
    for ep in entry_points(group="ionscope.formats"):
        for plugin in (lambda p: p if isinstance(p, (list, tuple)) else [p])(ep.load()):
            register(plugin, replace=True)


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
        try:
            plugin = table[format]
        except KeyError:
            raise UnknownFormatError(f"unknown format {format!r}; known formats: {', '.join(table)}", p) from None
        if (plugin.write if for_writing else plugin.read) is None:
            raise UnsupportedError(f"format {format!r} cannot be {'written' if for_writing else 'read'}", p)
        return plugin
    usable = [pl for pl in table.values() if (pl.write if for_writing else pl.read) is not None]
    by_ext = sorted((pl for pl in usable if _suffix_matches(p, pl)),
                    key=lambda pl: -max(len(e) for e in pl.extensions if p.name.lower().endswith(e)))
    if for_writing:
        if by_ext:
            return by_ext[0]
        raise UnknownFormatError(
            f"no writer for the extension {''.join(p.suffixes) or '(none)'}; writable formats: "
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
        names = ", ".join(pl.name for pl in by_ext)
        raise UnknownFormatError(f"the extension suggests {names} but the content does not match", p)
    what = "a folder that is not a store" if p.is_dir() else "not a format"
    raise UnknownFormatError(f"{what} ionscope reads (run `ionscope formats` for the list)", p)


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
    return plugin.read(p, **options)


def write(obj: Any, path: str | PathLike[str], format: str | None = None, *, force: bool = False,
          **options: Any) -> Path:
    """Write ``obj`` to ``path`` in ``format`` (chosen from the extension when not given), atomically."""
    plugin = find_plugin(path, format, for_writing=True)
    plugin.write(obj, Path(path), force=force, **options)
    return Path(path)
