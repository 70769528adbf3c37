"""A self-contained HTML report: a summary of key numbers, sections of text, SVG figures and tables,
and a collapsed provenance appendix.

No external assets: figures are inline SVG, styles are inline CSS, so the file opens offline.
Capability modules contribute sections; the report records every provenance dictionary it is given.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

from ionscope.io.atomic import write_text
from ionscope.model.result import Quantity
from ionscope.model.text import format_measurement, pretty_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.2rem auto;max-width:80rem;
color:#1d2327;line-height:1.4;padding:0 1rem}
h1{border-bottom:2px solid #245;padding-bottom:.3rem;font-size:1.6rem;margin:.4rem 0}h2{margin-top:1.8rem;color:#245}
.sub{margin:.3rem 0}.stamp{color:#4a4f55;font-size:.85rem;margin:.2rem 0}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(30rem,1fr));gap:.4rem 1.2rem;align-items:start}
figure{margin:.6rem 0}figure svg{max-width:100%;height:auto;max-height:30rem}
figcaption{font-size:.85rem;color:#4a4f55}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}caption{text-align:left;font-weight:600;
padding:.2rem 0}th,td{border:1px solid #ccd;padding:.2rem .5rem;text-align:right}th{background:#eef2f6}
td.l,th.l{text-align:left}.warn{background:#fff4e0;border-left:4px solid #b36b00;padding:.3rem .8rem;margin:.5rem 0}
.why{display:block;color:#3d4247;font-size:.88rem}.ok{color:#145214}.bad{color:#8f1010;font-weight:600}
pre{background:#f5f6f8;padding:.6rem;overflow-x:auto;font-size:.78rem}nav{margin:.6rem 0}nav a{margin-right:1rem}
details{margin:.4rem 0}.summary{font-size:.84rem}.summary td,.summary th{padding:.12rem .45rem}
#summary h2{margin-top:.8rem}.summary th[scope=rowgroup]{background:#f6f8fa;font-weight:600;max-width:14rem}
summary{cursor:pointer;font-weight:600}
.tier{border-left:6px solid #245;background:#f4f7fa;padding:.15rem .9rem;margin:.4rem 0}
.tier-A{border-color:#1b6e2a}.tier-B{border-color:#1f5f8b}.tier-C{border-color:#b36b00}.tier-D{border-color:#8f1010}
.tier ul{margin:.2rem 0;padding-left:1.2rem}.tier li{font-size:.9rem}
"""


def _unique_ids(svg: str, prefix: str) -> str:
    """Give every ``id`` of an inline SVG a document-unique prefix (several figures share one page)."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids:
        return svg
    seen: dict[str, int] = {}

    def rename(m: re.Match[str]) -> str:
        n = seen[m.group(1)] = seen.get(m.group(1), 0) + 1  # identical images share a content-hash id
        return f'id="{prefix}{m.group(1)}{"" if n == 1 else f"-{n}"}"'

    svg = re.sub(r'\bid="([^"]+)"', rename, svg)
    return re.sub(r'(href="#|url\(#)([^")]+)', lambda m: m.group(1) + (prefix + m.group(2) if m.group(2) in ids
                                                                         else m.group(2)), svg)


_FIGURE_COUNTER = [0]


def figure_svg(fig: Any, description: str = "") -> str:
    """Render a matplotlib figure to an inline SVG string (text as text, unique ids) and close it.

    ``description`` becomes the figure's accessible name (``role="img"``, ``aria-label``).
    """
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ionscope"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<!--.*?-->", "", text[text.find("<svg"):], flags=re.S)  # comments repeat raw labels
    text = re.sub(r"(<text\b[^>]*>)(.*?)(</text>)", lambda m: m.group(1) + re.sub(
        r">([^<]+)<", lambda t: ">" + html.escape(pretty_text(html.unescape(t.group(1))), quote=False) + "<",
        ">" + m.group(2) + "<")[1:-1] + m.group(3), text, flags=re.S)
    _FIGURE_COUNTER[0] += 1
    text = _unique_ids(text, f"f{_FIGURE_COUNTER[0]}-")
    label = html.escape(pretty_text(description) or "figure", quote=True)
    return text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format_measurement(v, None, digits=4)
    if isinstance(v, Quantity):
        return html.escape(format_measurement(v.value, v.uncertainty, v.unit))
    if v is None:
        return "–"
    return html.escape(pretty_text(str(v)))


@dataclass
class Section:
    """One titled part of a report: text, then its figures side by side, then tables and warnings."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        """Add a paragraph (plain text, escaped; ion names and exponents written with super/subscripts)."""
        self.blocks.append(f"<p>{html.escape(pretty_text(paragraph))}</p>")
        return self

    def figure(self, fig: Any, caption: str = "") -> Section:
        """Add a matplotlib figure (or a ready SVG string) with a caption."""
        svg = fig if isinstance(fig, str) else figure_svg(fig, caption)
        self.blocks.append(f"<figure>{svg}<figcaption>{html.escape(pretty_text(caption))}</figcaption></figure>")
        return self

    def table(self, rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
              columns: Sequence[str] | None = None, caption: str = "") -> Section:
        """Add a table from dict rows (columns from the first row) or sequences with ``columns``."""
        given: list[Any] = list(rows)
        if given and isinstance(given[0], Mapping):
            columns = list(columns or given[0].keys())
            given = [[r.get(c, "") for c in columns] for r in given]
        head = "".join(f'<th scope="col" class=l>{_fmt(c)}</th>' if i == 0 else f'<th scope="col">{_fmt(c)}</th>'
                       for i, c in enumerate(columns or []))
        body = "".join("<tr>" + "".join(f"<td class=l>{_fmt(v)}</td>" if i == 0 else f"<td>{_fmt(v)}</td>"
                                        for i, v in enumerate(r)) + "</tr>" for r in given)
        cap = f"<caption>{_fmt(caption)}</caption>" if caption else ""
        self.blocks.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def warning(self, message: str, explanation: str = "") -> Section:
        """Add a highlighted warning; ``explanation`` says why it appears (e.g. it was simulated on purpose)."""
        why = f'<span class=why>{html.escape(pretty_text(explanation))}</span>' if explanation else ""
        self.blocks.append(f'<div class=warn role="note"><strong>Warning:</strong> '
                           f'{html.escape(pretty_text(message))}{why}</div>')
        return self

    def html(self, fragment: str) -> Section:
        """Add a raw, trusted HTML fragment."""
        self.blocks.append(fragment)
        return self

    def render(self, anchor: str) -> str:
        """The section as HTML: figures are gathered into a grid after the first paragraph."""
        figs = [b for b in self.blocks if b.startswith("<figure>")]
        rest = [b for b in self.blocks if not b.startswith("<figure>")]
        lead = 1 if rest and rest[0].startswith("<p>") else 0
        grid = f'<div class="figs">{"".join(figs)}</div>' if figs else ""
        return (f'<section id="{anchor}" aria-labelledby="{anchor}-h"><h2 id="{anchor}-h">'
                f'{html.escape(pretty_text(self.title))}</h2>{"".join(rest[:lead])}{grid}{"".join(rest[lead:])}'
                "</section>")


@dataclass
class KeyNumber:
    """One line of a report's summary: a recovered quantity, optionally with its known true value."""

    section: str
    label: str
    value: float | None
    uncertainty: float | None = None
    unit: str = ""
    truth: float | None = None
    note: str = ""
    text: str = ""

    def agreement(self) -> str:
        """How far the recovered value lies from the truth, in its standard uncertainties."""
        if self.truth is None or self.value is None:
            return self.note
        if not self.uncertainty:
            return self.note or "no uncertainty"
        z = (float(self.value) - float(self.truth)) / float(self.uncertainty)
        text = f"{abs(z):.1f} σ {'above' if z > 0 else 'below'}" if abs(z) >= 0.05 else "0.0 σ"
        return f"{text}; {self.note}" if self.note else text


class Report:
    """An HTML report under construction: summary first, then sections, provenance collapsed at the end.

    >>> r = Report("Demo")
    >>> r.section("Data").text("hello")  # doctest: +ELLIPSIS
    Section(...)
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []
        self.keys: list[KeyNumber] = []
        self.provenance: list[Mapping[str, Any]] = []
        self.reliability: Mapping[str, Any] | None = None

    def set_reliability(self, assessment: Mapping[str, Any]) -> None:
        """Set the reliability tier shown at the top (:func:`ionscope.reliability.assess`).

        Without it, the report says the tier is unknown (no sample history was given).
        """
        self.reliability = dict(assessment)

    def _reliability(self) -> str:
        rel = self.reliability
        if rel is None:
            from ionscope.reliability import assess

            rel = assess(None, [])
        tier = str(rel.get("tier", "unknown"))
        items = "".join(f"<li><strong>{html.escape(str(r.get('tier')))}</strong>: "
                        f"{html.escape(pretty_text(str(r.get('message'))))} "
                        f"<span class=why>{html.escape(str(r.get('reference')))}</span></li>"
                        for r in rel.get("reasons", []))
        best = rel.get("at_best")
        note = f" (at best {html.escape(str(best))} with a complete sample history)" if tier == "unknown" and best \
            else ""
        count = len(rel.get("reasons", []))
        return (f'<section id="reliability" class="tier tier-{html.escape(tier)}" aria-label="Reliability tier">'
                f"<details><summary>Reliability: tier {html.escape(tier)}{note} · {count} "
                f"reason{'' if count == 1 else 's'}</summary><ul>{items}</ul></details></section>")

    def section(self, title: str) -> Section:
        """Start and return a new section."""
        s = Section(title)
        self.sections.append(s)
        return s

    def key(self, label: str, value: float | Quantity | None, uncertainty: float | None = None, unit: str = "",
            *, truth: float | None = None, note: str = "", section: str | None = None, text: str = "") -> KeyNumber:
        """Add a key number to the summary at the top (a :class:`Quantity` brings its uncertainty and unit).

        ``text`` replaces the formatted value (for yes/no results or counts of matches).
        """
        if isinstance(value, Quantity):
            q = value
            value, uncertainty, unit = q.value, q.uncertainty, unit or q.unit
        title = section if section is not None else (self.sections[-1].title if self.sections else "")
        k = KeyNumber(title, label, None if value is None else float(value),
                      None if uncertainty is None else float(uncertainty), unit,
                      None if truth is None else float(truth), note, text)
        self.keys.append(k)
        return k

    def record(self, provenance: Mapping[str, Any]) -> None:
        """Add a provenance dictionary to the appendix."""
        self.provenance.append(dict(provenance))

    def _summary(self) -> str:
        if not self.keys:
            return ""
        rows = []
        for i, k in enumerate(self.keys):
            truth = "" if k.truth is None else format_measurement(k.truth, None, k.unit, digits=4)
            span = 1
            while i + span < len(self.keys) and self.keys[i + span].section == k.section:
                span += 1
            part = "" if i and self.keys[i - 1].section == k.section else (
                f'<th scope="rowgroup" class=l rowspan={span}>{html.escape(pretty_text(k.section))}</th>')
            rows.append(f"<tr>{part}<td class=l>{html.escape(pretty_text(k.label))}</td>"
                        f"<td>{html.escape(k.text or format_measurement(k.value, k.uncertainty, k.unit))}</td>"
                        f"<td>{html.escape(truth)}</td><td class=l>{html.escape(pretty_text(k.agreement()))}</td></tr>")
        head = "".join(f'<th scope="col" class=l>{c}</th>' if c in ("part", "quantity", "agreement")
                       else f'<th scope="col">{c}</th>' for c in ("part", "quantity", "recovered", "true",
                                                                  "agreement"))
        return ('<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>'
                "<table class=summary><caption>Key numbers (value ± standard uncertainty, rounded to the uncertainty)"
                f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")

    def _provenance(self) -> str:
        items = []
        for p in self.provenance:
            inputs = p.get("inputs") or []
            names = ", ".join(html.escape(str(i.get("path") or i.get("synth") or "input"))
                              if isinstance(i, Mapping) else html.escape(str(i)) for i in inputs)
            full = html.escape(json.dumps(p, indent=1, ensure_ascii=False, default=str))
            items.append(f"<details><summary>{html.escape(str(p.get('operation') or 'result'))}"
                         f"{': ' + names if names else ''}</summary><pre>{full}</pre></details>")
        return ('<section id="provenance" aria-labelledby="provenance-h"><h2 id="provenance-h">Provenance</h2>'
                "<details><summary>Inputs (with SHA-256), parameters and software of every result above "
                f"({len(self.provenance)} records)</summary>{''.join(items)}</details></section>")

    def to_html(self) -> str:
        """The whole report as one self-contained HTML document."""
        from ionscope import __version__

        nav = "".join(f'<a href="#s{i}">{html.escape(pretty_text(s.title))}</a>' for i, s in enumerate(self.sections))
        body = "".join(s.render(f"s{i}") for i, s in enumerate(self.sections))
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
                f"<header><h1>{html.escape(pretty_text(self.title))}</h1>"
                f"<p class=sub>{html.escape(pretty_text(self.subtitle))}</p>"
                f"<p class=stamp>ionscope {__version__} · {stamp}</p></header><main>{self._reliability()}"
                f"{self._summary()}"
                f'<nav aria-label="sections">{nav}</nav>{body}{self._provenance()}</main></body></html>')

    def save(self, path: str | PathLike[str], *, force: bool = False) -> Path:
        """Write the report atomically to ``path``."""
        return write_text(path, self.to_html(), force=force)
