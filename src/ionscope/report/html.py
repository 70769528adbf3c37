"""A self-contained HTML report: sections of text, SVG figures and tables, and a provenance appendix.

No external assets: figures are inline SVG, styles are inline CSS, so the file opens offline.
Capability modules contribute sections; the report records every provenance dictionary it is given.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

from ionscope.io.atomic import write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:72rem;
color:#1d2327;line-height:1.45;padding:0 1rem}
h1{border-bottom:2px solid #245;padding-bottom:.3rem}h2{margin-top:2.2rem;color:#245}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#555}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}th,td{border:1px solid #ccd;padding:.25rem .6rem;
text-align:right}th{background:#eef2f6}td.l,th.l{text-align:left}.warn{background:#fff4e0;border-left:4px solid #e90;
padding:.4rem .8rem;margin:.6rem 0}.ok{color:#161}.bad{color:#a11;font-weight:600}
pre{background:#f5f6f8;padding:.6rem;overflow-x:auto;font-size:.8rem}nav a{margin-right:1rem}
"""


def figure_svg(fig: Any) -> str:
    """Render a matplotlib figure to an inline SVG string and close it."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg"):]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if hasattr(v, "__format__") and hasattr(v, "uncertainty"):
        return format(v, ".4g")
    return html.escape(str(v))


@dataclass
class Section:
    """One titled part of a report, built from blocks of HTML."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        """Add a paragraph (plain text, escaped)."""
        self.blocks.append(f"<p>{html.escape(paragraph)}</p>")
        return self

    def figure(self, fig: Any, caption: str = "") -> Section:
        """Add a matplotlib figure (or a ready SVG string) with a caption."""
        svg = fig if isinstance(fig, str) else figure_svg(fig)
        self.blocks.append(f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>")
        return self

    def table(self, rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
              columns: Sequence[str] | None = None, caption: str = "") -> Section:
        """Add a table from dict rows (columns from the first row) or sequences with ``columns``."""
        rows = list(rows)
        if rows and isinstance(rows[0], Mapping):
            columns = list(columns or rows[0].keys())
            rows = [[r.get(c, "") for c in columns] for r in rows]
        head = "".join(f"<th class=l>{html.escape(str(c))}</th>" if i == 0 else f"<th>{html.escape(str(c))}</th>"
                       for i, c in enumerate(columns or []))
        body = "".join("<tr>" + "".join(f"<td class=l>{_fmt(v)}</td>" if i == 0 else f"<td>{_fmt(v)}</td>"
                                        for i, v in enumerate(r)) + "</tr>" for r in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.blocks.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def warning(self, message: str) -> Section:
        """Add a highlighted warning."""
        self.blocks.append(f"<div class=warn>{html.escape(message)}</div>")
        return self

    def html(self, fragment: str) -> Section:
        """Add a raw, trusted HTML fragment."""
        self.blocks.append(fragment)
        return self


class Report:
    """An HTML report under construction.

    >>> r = Report("Demo")
    >>> r.section("Data").text("hello")  # doctest: +ELLIPSIS
    Section(...)
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []
        self.provenance: list[Mapping[str, Any]] = []

    def section(self, title: str) -> Section:
        """Start and return a new section."""
        s = Section(title)
        self.sections.append(s)
        return s

    def record(self, provenance: Mapping[str, Any]) -> None:
        """Add a provenance dictionary to the appendix."""
        self.provenance.append(dict(provenance))

    def to_html(self) -> str:
        from ionscope import __version__

        nav = "".join(f'<a href="#s{i}">{html.escape(s.title)}</a>' for i, s in enumerate(self.sections))
        body = "".join(f'<section id="s{i}"><h2>{html.escape(s.title)}</h2>{"".join(s.blocks)}</section>'
                       for i, s in enumerate(self.sections))
        prov = "".join(f"<pre>{html.escape(json.dumps(p, indent=1, ensure_ascii=False, default=str))}</pre>"
                       for p in self.provenance)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(self.title)}</title>"
                f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
                f"<p>{html.escape(self.subtitle)}</p><p><small>ionscope {__version__} · {stamp}</small></p>"
                f"<nav>{nav}</nav>{body}<section id=provenance><h2>Provenance</h2>"
                f"<p>Inputs (with SHA-256), parameters and software of every result above.</p>{prov}</section>"
                f"</body></html>")

    def save(self, path: str | PathLike[str], *, force: bool = False) -> Path:
        """Write the report atomically to ``path``."""
        return write_text(path, self.to_html(), force=force)
