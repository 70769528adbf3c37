"""What the viewer puts on the wire: strict JSON, error bodies, and paths without the user's folders.

Strict JSON
    Every JSON answer parses with a strict parser (RFC 8259 has no NaN or infinity). A number that is
    not finite is sent as ``null``; it means "no such number": the m/z of a summed column such as the
    ``total`` column of an IONTOF SurfaceLab export, the range of an all-missing coordinate, or an
    interface position that could not be located.

Errors
    Every error answer has the shape of the command line's JSON errors:
    ``{"error": {"type": …, "message": …, "path": …}}`` — ``type`` is the error class (an
    ``IonscopeError`` subclass such as ``ValidationError``, or an HTTP condition such as
    ``NotFound``), ``message`` one sentence, ``path`` the dataset concerned relative to the folders
    the viewer was started with (``null`` when no file is concerned).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Names of the HTTP conditions the server answers, by status.
HTTP_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
              405: "MethodNotAllowed", 408: "RequestTimeout", 409: "DatasetError", 411: "LengthRequired",
              413: "PayloadTooLarge", 414: "URITooLong", 415: "UnsupportedMediaType", 422: "ValidationError",
              431: "RequestHeaderFieldsTooLarge", 500: "InternalError", 501: "NotImplemented",
              503: "ServiceUnavailable", 505: "HTTPVersionNotSupported"}

_ABS_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"():,;]+/)+([^\s/'\"():,;]*)")


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None`` and NumPy values made plain Python."""
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite(obj.tolist())
    if isinstance(obj, np.generic):
        return finite(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def json_bytes(obj: Any) -> bytes:
    """Strict JSON (UTF-8) of ``obj``; non-finite numbers become ``null`` (see the module docstring)."""
    try:
        return json.dumps(obj, allow_nan=False, default=_plain).encode()
    except ValueError:
        return json.dumps(finite(obj), allow_nan=False, default=_plain).encode()


def error_body(kind: str, message: str, path: str | None = None) -> dict[str, Any]:
    """The JSON error object, in the command line's shape."""
    return {"error": {"type": kind, "message": message, "path": path}}


class PathScrubber:
    """Rewrites absolute paths in text to paths relative to the folders the viewer was started with.

    A folder argument is its own base (its entries show as ``data/run.zarr``); a file argument's base
    is its parent folder (it shows by name). Any other absolute path left in a message (a temporary
    folder, a library's cache) is cut to its last component, so no absolute path leaves the server.
    """

    def __init__(self) -> None:
        self._bases: list[str] = []

    def add_base(self, folder: str | os.PathLike[str]) -> None:
        for form in {str(Path(folder).expanduser().absolute()), str(Path(folder).expanduser().resolve())}:
            if form not in self._bases and form != os.sep:
                self._bases.append(form)
        self._bases.sort(key=len, reverse=True)

    @property
    def bases(self) -> Iterable[str]:
        return tuple(self._bases)

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the longest base holding it, else its name."""
        p = str(path)
        for base in self._bases:
            if p == base:
                return Path(base).name or "."
            if p.startswith(base + os.sep):
                return Path(p[len(base) + 1:]).as_posix()
        return Path(p).name

    def __call__(self, text: str) -> str:
        """``text`` with every absolute path made relative (see the class docstring)."""
        for base in self._bases:
            text = text.replace(base + os.sep, "").replace(base, Path(base).name or ".")
        return _ABS_PATH.sub(lambda m: m.group(1) or "/", text)
