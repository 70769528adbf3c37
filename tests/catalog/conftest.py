"""Catalogue tests never touch the user's data folder: the default catalogue is a temporary file."""

from __future__ import annotations

import hashlib

import pytest


@pytest.fixture(autouse=True)
def _default_catalog(tmp_path, monkeypatch):
    monkeypatch.setenv("IONSCOPE_CATALOG_DB", str(tmp_path / "default.sqlite"))


def make_doc(i: int, *, hours: float = 24.0, unit: str = "h", D: float | None = None, tier: str = "B",
             material: str = "LLTO") -> dict:
    """A small diffusion-fit envelope for input number ``i``."""
    from ionscope.model.result import Quantity, Result, envelope

    sha = hashlib.sha256(str(i).encode()).hexdigest()
    value = 1e-13 * (1 + i % 100) if D is None else D
    r = Result("diffusion.fit", {"D": Quantity(value, value / 50, "cm^2/s"), "model": "couple"})
    return envelope("diffusion.fit", r, inputs=[{"path": f"profile{i}.csv", "sha256": sha, "bytes": 100}],
                    parameters={"time": Quantity(hours, None, unit), "model": "auto"},
                    reliability={"tier": tier, "sample": {"name": f"s{i % 7}", "material": material}})
