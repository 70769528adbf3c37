"""Mutation strategies (hypothesis) for the fuzz suite: each draws one damaging edit of a file's bytes.

Strategies: truncation, byte flips, absurd numbers written over numbers in text (or over aligned
binary integers), dropped / duplicated / swapped lines, inserted garbage, an empty file, a file of
random bytes. Drawing through hypothesis makes every mutant reproducible from its seed and lets a
failure shrink to a minimal edit.
"""

from __future__ import annotations

import re
import struct

from hypothesis import strategies as st

#: Numbers no valid file holds in that place: zero and negative sizes, values beyond 32 and 64 bits,
#: non-finite values, tiny and huge magnitudes.
ABSURD = [b"0", b"-1", b"-7", b"1e30", b"-1e30", b"18446744073709551616", b"9223372036854775808",
          b"-9223372036854775809", b"4294967296", b"4294967295", b"65535", b"2147483648", b"nan", b"inf",
          b"-inf", b"1e-300", b"1e308", b"0.5", b"1e7", b"abc", b""]
#: Binary integers written over aligned fields: 0, all bits, sign bit, one past the signed maximum.
ABSURD_BINARY = [0, 0xFF, 0x7F, 0xFFFF, 0x7FFF, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFFFFFFFFFF,
                 0x7FFFFFFFFFFFFFFF, 1, 2, 100000]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")

OPERATIONS = ("truncate", "flip", "absurd", "drop_line", "duplicate_line", "swap_lines", "insert", "empty",
              "garbage", "absurd_binary")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def mutant(draw: st.DrawFn, data: bytes, *, text: bool) -> tuple[str, bytes]:
    """One mutation of ``data``: ``(operation, new bytes)``."""
    ops = OPERATIONS if text else tuple(o for o in OPERATIONS if o not in ("drop_line", "duplicate_line",
                                                                           "swap_lines"))
    op = draw(st.sampled_from(ops))
    n = len(data)
    if op == "truncate":
        return op, data[:draw(st.integers(0, max(n - 1, 0)))]
    if op == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            if out:
                out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return op, bytes(out)
    if op == "absurd":
        spans = [m.span() for m in _NUMBER.finditer(data[:200_000])]
        if not spans:
            op = "absurd_binary"
        else:
            a, b = spans[draw(st.integers(0, len(spans) - 1))]
            return op, data[:a] + draw(st.sampled_from(ABSURD)) + data[b:]
    if op == "absurd_binary":
        width = draw(st.sampled_from((1, 2, 4, 8)))
        if n < width:
            return op, data
        pos = draw(st.integers(0, (n - width) // width)) * width
        value = draw(st.sampled_from(ABSURD_BINARY)) & ((1 << (8 * width)) - 1)
        fmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}[width]
        return op, data[:pos] + struct.pack(fmt, value) + data[pos + width:]
    if op in ("drop_line", "duplicate_line", "swap_lines"):
        lines = _lines(data)
        i = draw(st.integers(0, len(lines) - 1))
        if op == "drop_line":
            del lines[i]
        elif op == "duplicate_line":
            lines.insert(i, lines[i])
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        return op, b"\n".join(lines)
    if op == "insert":
        pos = draw(st.integers(0, n))
        return op, data[:pos] + draw(st.binary(min_size=1, max_size=64)) + data[pos:]
    if op == "empty":
        return op, b""
    return "garbage", draw(st.binary(min_size=1, max_size=4096))
