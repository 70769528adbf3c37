"""``ionscope demo``: run every capability on the virtual instrument and write one report.

Every module of :mod:`ionscope.demo` other than this one has ``TITLE``, ``ORDER`` and
``build(ctx: DemoContext)``; the runner discovers them, runs them in ``ORDER`` and writes
``report.html`` and ``results.json`` (recovered vs true values of every section).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import ionscope.demo
from ionscope.io.atomic import check_writable, write_text
from ionscope.model.flags import recording
from ionscope.model.result import to_plain
from ionscope.report.html import Report


@dataclass
class DemoContext:
    """What a demo section gets: where to write, the report, the results, a seed."""

    out: Path
    report: Report
    seed: int = 0
    results: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = lambda message: None
    #: The simulated input files written into ``out/data`` (path relative to it → what it holds and a
    #: command to try on it), listed in ``data/README.md`` and ``results.json``.
    data_files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def save_input(self, obj: Any, name: str, what: str, command: str = "", *,
                   writer: Callable[..., Any] | None = None, info: bool = True) -> Path:
        """Write a simulated input into ``out/data/name`` (``ionscope.save``, i.e. Zarr, unless a
        ``writer(obj, path, force=True)`` of :mod:`ionscope.io` is given) and list it (``info``: whether
        ``ionscope info`` opens it; tables read only by their command say False)."""
        import ionscope

        path = self.out / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (writer or ionscope.save)(obj, path, force=True)
        self.note_input(name, what, command, info=info)
        return path

    def note_input(self, name: str, what: str, command: str = "", *, info: bool = True) -> None:
        """List a file a section wrote into ``out/data`` itself."""
        self.data_files[name] = {"what": what, "try": command, "info": info}


def demo_modules() -> list[Any]:
    """The demo sections (modules of :mod:`ionscope.demo` with a ``build``), in their ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(ionscope.demo.__path__):
        module = importlib.import_module(f"ionscope.demo.{info.name}")
        if hasattr(module, "build"):
            found.append(module)
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def run_demo(out: str | PathLike[str], *, force: bool = False, seed: int = 0,
             on_section: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Run all demo sections and write ``report.html`` and ``results.json`` into ``out``.

    ``on_section`` is called with each section's title before it runs (progress display).
    """
    out = Path(out)
    report_path, results_path = out / "report.html", out / "results.json"
    for p in (report_path, results_path):
        check_writable(p, force)
    out.mkdir(parents=True, exist_ok=True)
    report = Report("ionscope demo: the virtual instrument, end to end",
                    "Every number below is computed by ionscope from simulated measurements with known "
                    "ground truth; each section compares what was recovered with what was put in.")
    ctx = DemoContext(out=out, report=report, seed=seed)
    with recording() as flagged:
        for module in demo_modules():
            if on_section:
                on_section(module.TITLE)
            module.build(ctx)
            if module.__name__ == "ionscope.demo.micro":
                _micro_keys(ctx)
    ctx.results["data_files"] = dict(sorted(ctx.data_files.items()))
    write_text(out / "data" / "README.md", data_readme(ctx.data_files), force=True)
    report.set_reliability(demo_reliability(flagged.flags))
    report.save(report_path, force=force)
    write_text(results_path, json.dumps(to_plain(ctx.results), indent=2, ensure_ascii=False), force=force)
    return {"report": report_path, "results": results_path}


def data_readme(files: dict[str, dict[str, Any]]) -> str:
    """``data/README.md``: every simulated input the demo wrote, what it holds and a command to try."""
    lines = ["# Simulated inputs of `ionscope demo`", "",
             "Every file here was simulated with known ground truth (`ionscope.synth`) and is read by the",
             "analysis it belongs to; paths are relative to the demo's output folder.", "",
             "| file | what it holds | try |", "|---|---|---|"]
    for name, info in sorted(files.items()):
        try_ = f"`{info['try']}`" if info["try"] else ""
        lines.append(f"| `data/{name}` | {info['what']} | {try_} |")
    return "\n".join(lines) + "\n"


def demo_reliability(flags: list[str]) -> dict[str, Any]:
    """The demo's tier: simulated measurements have no sample history, so ``unknown``, with every
    artefact flag the analyses raised on the simulated data listed as a reason."""
    from ionscope.reliability import assess

    rel = assess(None, flags)
    rel["reasons"][0] = {**rel["reasons"][0], "message": "simulated measurements: there is no sample history, so "
                         "no preparation route can be assessed"}
    return rel


def _micro_keys(ctx: DemoContext) -> None:
    """Summary lines for the microstructure section, from the numbers it recorded (it adds none itself)."""
    micro = ctx.results.get("microstructure") or {}
    title = next((s.title for s in reversed(ctx.report.sections)), "")
    tpb = micro.get("tpb_density_per_um2")
    if isinstance(tpb, dict) and tpb.get("value") is not None:
        true = tpb.get("true")
        ratio = f"{tpb['value'] / true:.2g}× the true value; " if true else ""
        ctx.report.key("triple-phase-boundary density", tpb["value"], None, "µm^-2", truth=true,
                       note=f"{ratio}segmented vs true label volume", section=title)
    acc = micro.get("voxel_accuracy")
    if isinstance(acc, (int, float)):
        ctx.report.key("voxels segmented correctly", None, text=f"{acc:.1%}", section=title)
