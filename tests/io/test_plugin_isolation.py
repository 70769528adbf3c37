"""A format plugin that cannot be loaded is reported and skipped; every other format keeps working."""

from __future__ import annotations

import json

import numpy as np
import pytest


class _BrokenEntryPoint:
    name, value = "broken", "broken_vendor_plugin:PLUGIN"

    def load(self):
        raise ImportError("No module named 'broken_vendor_plugin'")


@pytest.fixture
def broken_plugin(monkeypatch):
    from ionscope.io import registry

    monkeypatch.setattr(registry, "entry_points", lambda group: [_BrokenEntryPoint()])
    monkeypatch.setattr(registry, "_DISCOVERED", False)
    monkeypatch.setattr(registry, "_PLUGINS", {})
    monkeypatch.setattr(registry, "_FAILED", {})
    return registry


def test_a_broken_plugin_is_skipped_and_reported(broken_plugin, tmp_path, cli):
    import tifffile

    import ionscope

    assert "tiff" in broken_plugin.plugins() and "zarr" in broken_plugin.plugins()
    assert "broken" in next(iter(broken_plugin.failed_plugins()))
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert ionscope.read(path).shape == (3, 4)
    code, out, err = cli("formats", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert "tiff" in doc["results"]
    assert any("broken_vendor_plugin" in w and "skipped" in w for w in doc["warnings"])


def test_discovery_skips_exactly_the_modules_without_a_plugin():
    import importlib
    import pkgutil

    import ionscope.io
    from ionscope.io.registry import _INFRASTRUCTURE

    for info in pkgutil.iter_modules(ionscope.io.__path__):
        module = importlib.import_module(f"ionscope.io.{info.name}")
        has_plugin = hasattr(module, "PLUGIN") or hasattr(module, "PLUGINS")
        assert has_plugin != (info.name in _INFRASTRUCTURE), info.name
