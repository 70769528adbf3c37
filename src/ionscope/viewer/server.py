"""The viewer's HTTP server: standard library only, token-protected, read-only.

Routes (every one needs the session token as ``?token=``, header ``X-Ionscope-Token`` or the
``ionscope_token`` cookie set by the index page; otherwise 401):

==========================================  ==========================================================
``GET /``                                   the single-page app (sets the token cookie)
``GET /static/<file>``                      packaged JS/CSS (only files shipped in viewer/static)
``GET /api/datasets``                       catalogue: id, name, kind, shape, status/error
``GET /api/datasets/<id>``                  coordinates with units, peaks, pixel size, phases
``GET /api/datasets/<id>/image``            one 2D slice, downsampled, as binary float32 (see below)
``GET /api/datasets/<id>/labels``           the label slice of a segmented volume (same format)
``GET /api/datasets/<id>/spectrum``         spectrum or stick spectrum, detected/labelled peaks
``GET /api/datasets/<id>/profile``          depth profile on every axis, interfaces and layers
``GET /api/datasets/<id>/operando``         the cycling curve (time, voltage, charge) of the states
``POST /api/datasets/<id>/roi``             ROI spectrum / depth profile / trajectories (JSON body)
==========================================  ==========================================================

Binary images: ``b"ISV1"``, a little-endian uint32 header length, the UTF-8 JSON header padded with
spaces to a multiple of 4 bytes, then row-major little-endian float32 pixels.

Errors are JSON ``{"error": message}``: 401 without token, 404 for unknown routes and datasets, 409 for
a dataset that failed to load, 422 for malformed parameters or ROIs, 500 for anything unexpected
(the server keeps running).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterable
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from os import PathLike
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ionscope.model.errors import IonscopeError, ValidationError
from ionscope.viewer.catalogue import Catalogue, Entry

#: Largest scan/state block (all species) kept in memory for fast species switching, bytes.
MAX_BLOCK_BYTES = 64 * 1024**2
#: Largest request body accepted (ROI polygons), bytes.
MAX_BODY = 1_000_000
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class HTTPError(Exception):
    """An error answer with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def encode_image(values: np.ndarray, header: dict[str, Any]) -> bytes:
    """The binary image format described in the module docstring."""
    head = json.dumps(header, allow_nan=False).encode()
    head += b" " * (-len(head) % 4)
    return b"ISV1" + struct.pack("<I", len(head)) + head + np.ascontiguousarray(values, dtype="<f4").tobytes()


def decode_image(body: bytes) -> tuple[np.ndarray, dict[str, Any]]:
    """Inverse of :func:`encode_image` (used by tests and the benchmark)."""
    if body[:4] != b"ISV1":
        raise ValueError("not an ionscope viewer image")
    (n,) = struct.unpack("<I", body[4:8])
    header = json.loads(body[8:8 + n])
    values = np.frombuffer(body[8 + n:], dtype="<f4").reshape(header["shape"])
    return values, header


def _static_files() -> dict[str, bytes]:
    root = resources.files("ionscope.viewer") / "static"
    return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file() and not p.name.startswith(".")}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ViewerServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the catalogue, the token and a small cache of rendered slices."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, catalogue: Catalogue, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, allow_remote: bool = False) -> None:
        if not is_loopback(host) and not allow_remote:
            raise IonscopeError(f"refusing to listen on the non-loopback address {host!r} without --allow-remote")
        self.catalogue = catalogue
        self.token = token or secrets.token_urlsafe(24)
        self.static = _static_files()
        self.cache: OrderedDict[tuple, bytes] = OrderedDict()
        self.cache_lock = threading.Lock()
        self.blocks: OrderedDict[tuple, Any] = OrderedDict()
        super().__init__((host, port), ViewerHandler)

    def lead_block(self, entry: Entry, lead: str, index: int) -> Any:
        """Scan (or state) ``index`` of a cube/series with all its species, loaded once and kept (LRU).

        Switching species at the same depth or state then costs no chunk read. Blocks larger than
        :data:`MAX_BLOCK_BYTES` stay lazy (only the requested plane is read).
        """
        block = entry.data.isel({lead: slice(index, index + 1)})
        if block.nbytes > MAX_BLOCK_BYTES:
            return block
        key = (entry.id, lead, index)
        with self.cache_lock:
            if key in self.blocks:
                self.blocks.move_to_end(key)
                return self.blocks[key]
        loaded = block.load()
        with self.cache_lock:
            self.blocks[key] = loaded
            while len(self.blocks) > 4:
                self.blocks.popitem(last=False)
        return loaded

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = host if ":" not in str(host) else f"[{host}]"
        return f"http://{shown}:{port}/?token={self.token}"

    def cached(self, key: tuple, make: Any, limit: int = 96) -> bytes:
        with self.cache_lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        value = make()
        with self.cache_lock:
            self.cache[key] = value
            while len(self.cache) > limit:
                self.cache.popitem(last=False)
        return value


def make_server(paths: Iterable[str | PathLike[str]], *, host: str = "127.0.0.1", port: int = 0,
                token: str | None = None, allow_remote: bool = False) -> ViewerServer:
    """Build the catalogue from ``paths`` and bind a server (not yet serving; call ``serve_forever``)."""
    catalogue = Catalogue()
    for p in paths:
        catalogue.add(p)
    return ViewerServer(catalogue, host=host, port=port, token=token, allow_remote=allow_remote)


class ViewerHandler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "ionscope-viewer"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints the URL only
        pass

    # --- plumbing -------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, allow_nan=False, default=str).encode(), "application/json")

    def _token_ok(self, query: dict[str, list[str]]) -> bool:
        given = query.get("token", [None])[0] or self.headers.get("X-Ionscope-Token")
        if not given:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            given = cookie["ionscope_token"].value if "ionscope_token" in cookie else None
        return bool(given) and hmac.compare_digest(str(given).encode(), self.server.token.encode())

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        try:
            if not self._token_ok(query):
                raise HTTPError(401, "missing or wrong access token; open the URL printed by `ionscope view`")
            params = {k: v[-1] for k, v in query.items() if k != "token"}
            self._route(method, parts.path, params)
        except HTTPError as exc:
            self._json(exc.status, {"error": str(exc)})
        except ValidationError as exc:
            self._json(422, {"error": str(exc)})
        except IonscopeError as exc:
            self._json(422, {"error": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # never let one request take the server down
            try:
                self._json(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})
            except OSError:
                pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _method_not_allowed(self) -> None:
        self._json(405, {"error": "the viewer is read-only"})

    do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    # --- routes ---------------------------------------------------------------------------------
    def _route(self, method: str, path: str, params: dict[str, str]) -> None:
        if path in ("/", "/index.html"):
            self._index()
            return
        if path.startswith("/static/"):
            self._static(path[len("/static/"):])
            return
        segs = [s for s in path.split("/") if s]
        if segs[:2] != ["api", "datasets"]:
            raise HTTPError(404, f"no such page: {path}")
        if len(segs) == 2 and method == "GET":
            self._json(200, {"datasets": [e.summary() for e in self.server.catalogue.entries()]})
            return
        entry = self.server.catalogue.get(segs[2]) if len(segs) >= 3 else None
        if entry is None:
            raise HTTPError(404, f"unknown dataset {segs[2]!r}" if len(segs) >= 3 else "no dataset named")
        if len(segs) == 3 and method == "GET":
            self._json(200, entry.describe())
            return
        if len(segs) != 4:
            raise HTTPError(404, f"no such page: {path}")
        action = segs[3]
        routes = {("GET", "image"): self._image, ("GET", "labels"): self._labels,
                  ("GET", "spectrum"): self._spectrum, ("GET", "profile"): self._profile,
                  ("GET", "operando"): self._operando, ("POST", "roi"): self._roi}
        handler = routes.get((method, action))
        if handler is None:
            if any(a == action for _, a in routes):
                raise HTTPError(405, f"{action} does not accept {method}")
            raise HTTPError(404, f"no such view data: {action}")
        if not entry.ok:
            raise HTTPError(409, entry.error or "the dataset failed to load")
        handler(entry, params)

    def _index(self) -> None:
        html = self.server.static["index.html"].decode().replace("{{TOKEN}}", self.server.token)
        cookie = f"ionscope_token={self.server.token}; HttpOnly; SameSite=Strict; Path=/"
        self._send(200, html.encode(), STATIC_TYPES[".html"], {"Set-Cookie": cookie})

    def _static(self, name: str) -> None:
        body = self.server.static.get(name)  # a fixed set of packaged files: no path is opened
        if body is None or name == "index.html":
            raise HTTPError(404, f"no such asset: {name}")
        ext = name[name.rfind("."):]
        self._send(200, body, STATIC_TYPES.get(ext, "application/octet-stream"))

    def _image(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.slicing import MAX_IMAGE_PX, image_of, int_param

        max_px = int_param({"max": params.get("max", MAX_IMAGE_PX)}, "max", 4097)
        if max_px < 16:
            raise ValidationError(f"parameter 'max' must be 16…4096 pixels, got {max_px}")
        key = (entry.id, "image", tuple(sorted(params.items())))

        def make() -> bytes:
            lead = {"cube3d": "scan", "operando": "state"}.get(entry.kind or "")
            if lead is None or params.get(lead) == "sum":
                return encode_image(*image_of(entry.data, entry.kind, params, max_px))
            i = int_param(params, lead, entry.data.sizes[lead])
            block = self.server.lead_block(entry, lead, i)  # all species of this scan/state, read once
            values, header = image_of(block, entry.kind, {**params, lead: 0}, max_px)
            header["selection"][lead] = i
            return encode_image(values, header)

        self._send(200, self.server.cached(key, make), "application/octet-stream")

    def _labels(self, entry: Entry, params: dict[str, str]) -> None:
        if entry.labels is None:
            raise HTTPError(404, f"{entry.path.name} has no label volume")
        key = (entry.id, "labels", tuple(sorted(params.items())))

        def make() -> bytes:
            from ionscope.viewer.slicing import MAX_IMAGE_PX, plane_of

            plane, sel = plane_of(entry.labels, "volume", params)
            values = np.asarray(plane.values)
            f = max(1, int(np.ceil(max(values.shape) / MAX_IMAGE_PX)))  # same factor as the grey image
            if f > 1:
                values = values[: values.shape[0] // f * f: f, : values.shape[1] // f * f: f]  # nearest label
            small = values.astype(np.float32)
            header = {"shape": list(small.shape), "factor": f, "selection": sel, "labels": True,
                      "min": float(small.min()), "max": float(small.max())}
            return encode_image(small, header)

        self._send(200, self.server.cached(key, make), "application/octet-stream")

    def _spectrum(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.slicing import spectrum_of

        key = (entry.id, "spectrum", tuple(sorted(params.items())))
        self._send(200, self.server.cached(key, lambda: json.dumps(spectrum_of(entry.data, entry.kind, params),
                                                                   allow_nan=False).encode()), "application/json")

    def _profile(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.slicing import profile_of

        key = (entry.id, "profile")
        self._send(200, self.server.cached(key, lambda: json.dumps(profile_of(entry.data, entry.kind),
                                                                   allow_nan=False).encode()), "application/json")

    def _operando(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.annotations import operando_curve
        from ionscope.viewer.slicing import roi_result

        if entry.kind != "operando":
            raise ValidationError(f"a {entry.kind} is not an operando series")
        whole = {"type": "rect", "x0": 0, "y0": 0, "x1": entry.data.sizes["x"], "y1": entry.data.sizes["y"]}
        curve = operando_curve(entry.data)
        curve["n_states"] = int(entry.data.sizes["state"])
        curve["whole_field"] = roi_result(entry.data, "operando", whole, "trajectory")
        self._json(200, curve)

    def _roi(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.slicing import roi_result

        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise ValidationError("bad Content-Length") from None
        if length <= 0 or length > MAX_BODY:
            raise ValidationError(f"the ROI body must be 1…{MAX_BODY} bytes of JSON")
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationError("the ROI body is not valid JSON") from None
        if not isinstance(body, dict) or "roi" not in body:
            raise ValidationError("the ROI body must be {\"roi\": {...}, \"what\": \"spectrum|profile|trajectory\"}")
        what = body.get("what", "spectrum")
        if what not in ("spectrum", "profile", "trajectory"):
            raise ValidationError(f"'what' must be spectrum, profile or trajectory, got {what!r}")
        self._json(200, roi_result(entry.data, entry.kind, body["roi"], what))


def serve_in_thread(server: ViewerServer) -> threading.Thread:
    """Run ``server`` in a daemon thread (tests, benchmark); stop with ``server.shutdown()``."""
    t = threading.Thread(target=server.serve_forever, daemon=True, name="ionscope-viewer")
    t.start()
    return t
