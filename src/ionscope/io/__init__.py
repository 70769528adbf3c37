"""Readers and writers. One module per format; each defines ``PLUGIN`` (see :mod:`.registry`)."""

from ionscope.io.registry import FormatPlugin, failed_plugins, find_plugin, plugins, read, register, write
from ionscope.io.zarr_store import load, save

__all__ = ["FormatPlugin", "failed_plugins", "find_plugin", "load", "plugins", "read", "register", "save", "write"]
