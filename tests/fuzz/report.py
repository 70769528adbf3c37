"""Turn the fuzz suite's outcome counts (``IONSCOPE_FUZZ_REPORT`` JSON) into the table of
``docs/reliability.md`` (between the ``fuzz-table`` markers), with the date, the number of
mutants, the wall time and the load average of the run.

Usage: ``python -m tests.fuzz.report counts.json docs/reliability.md SECONDS "LOAD AVERAGE"``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

BEGIN, END = "<!-- fuzz-table:begin -->", "<!-- fuzz-table:end -->"


def table(counts: dict[str, dict[str, int]], seconds: float, load: str) -> str:
    """Markdown summary of one run."""
    total = sum(c.get("mutants", 0) for c in counts.values())
    bad = sum(c.get(k, 0) for c in counts.values() for k in ("crash", "hang", "memory"))
    errors = sorted({k for c in counts.values() for k in c} - {"mutants", "ok", "crash", "hang", "memory"})
    head = ["case", "mutants", "read", *errors, "crash", "hang", "memory"]
    lines = [f"Run of {dt.date.today().isoformat()}: **{total} mutants**, {bad} failures, {seconds:.0f} s wall "
             f"time, load average {load} (2 shared cores).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case, c in sorted(counts.items()):
        lines.append("| " + " | ".join([case] + [str(c.get(k, 0)) for k in
                                                  ["mutants", "ok", *errors, "crash", "hang", "memory"]]) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    counts = json.loads(Path(argv[0]).read_text())
    doc = Path(argv[1])
    text = doc.read_text(encoding="utf-8")
    new = f"{BEGIN}\n{table(counts, float(argv[2]), argv[3])}\n{END}"
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: new, text, flags=re.S)
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
