"""The viewer's HTTP server: standard library only, token-protected, read-only but for label files, bounded.

Routes (every one needs the session token as ``?token=``, header ``X-Ionscope-Token`` or the
``ionscope_token`` cookie set by the index page; otherwise 401):

==========================================  ==========================================================
``GET /``                                   the single-page app (sets the token cookie)
``GET /static/<file>``                      packaged JS/CSS (only files shipped in viewer/static)
``GET /api/datasets``                       catalogue: id, name, relative path, kind, shape, status/error
``GET /api/datasets/<id>``                  coordinates with units, peaks, pixel size, phases
``GET /api/datasets/<id>/image``            one 2D slice, downsampled, as binary float32 (see below)
``GET /api/datasets/<id>/labels``           the label slice of a segmented volume (same format)
``GET /api/datasets/<id>/spectrum``         spectrum or stick spectrum, detected/labelled peaks
``GET /api/datasets/<id>/profile``          depth profile on every axis, interfaces and layers
``GET /api/datasets/<id>/operando``         the cycling curve (time, voltage, charge) of the states
``GET /api/datasets/<id>/map``              one map variable (``var``, ``peak``) in its display unit (binary)
``GET /api/datasets/<id>/side``             side view of a cube (``plane`` xz|yz, ``index``, ``peak``; binary)
``GET /api/datasets/<id>/value``            value ± 1σ and unit at (``row``, ``col``) of a map or side view
``POST /api/datasets/<id>/roi``             ROI spectrum / depth profile / trajectories (JSON body)
``GET|POST /api/datasets/<id>/scribbles``   label file of a volume: its state; save drawn strokes
``GET /api/datasets/<id>/scribbles-slice``  one slice of the saved label file (binary)
==========================================  ==========================================================

The only write is the label file of a volume (:mod:`ionscope.viewer.scribble`): a path the server
derives from the stack's own (``<stack>.labels.zarr`` beside it), written atomically and never
replaced without the request's explicit ``overwrite``.

Binary images: ``b"ISV1"``, a little-endian uint32 header length, the UTF-8 JSON header padded with
spaces to a multiple of 4 bytes, then row-major little-endian float32 pixels.

JSON is strict (no NaN or infinity: a number that is not finite is ``null``), and errors have the
command line's shape ``{"error": {"type", "message", "path"}}`` (see :mod:`ionscope.viewer.wire`):
400 malformed request, 401 without token, 403 for a Host or Origin that is not allowed, 404 for
unknown routes and datasets, 405 for any method but GET, HEAD and POST, 409 for a dataset that
failed to load, 415 for a POST body that is not ``application/json``, 422 for malformed parameters
or ROIs and for stored data that cannot be read (damaged after start-up: ``FormatError``), 503
when the connection queue is full, 500 for anything unexpected (the server keeps running).

Defences against other web pages and slow clients
    *DNS rebinding*: the ``Host`` header must name a loopback address or ``localhost`` (with
    ``allow_remote``, also the bound host and the names given as ``allowed_hosts``).
    *Cross-site requests*: a POST must carry ``Content-Type: application/json`` (which a foreign page
    cannot send without a CORS preflight, and the server never grants one), and its ``Origin``, when
    present, must be this server's own origin.
    *Exhaustion*: requests are served by a fixed pool of :data:`WORKERS` threads; at most
    :data:`MAX_PENDING` connections are accepted but unfinished (more get 503 at once); the listen
    backlog is :data:`BACKLOG`; a connection silent for :data:`IDLE_TIMEOUT` seconds, or that has not
    delivered its whole request :data:`REQUEST_TIMEOUT` seconds after a worker took it, is closed.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import secrets
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ionscope.model.errors import IonscopeError, ValidationError
from ionscope.viewer.catalogue import Catalogue, Entry
from ionscope.viewer.wire import HTTP_TYPES, error_body, json_bytes

#: Largest scan/state block (all species) kept in memory for fast species switching, bytes.
MAX_BLOCK_BYTES = 64 * 1024**2
#: Largest request body accepted (ROI polygons), bytes.
MAX_BODY = 1_000_000
#: Largest body of a scribble-label save (strokes as polylines, :mod:`ionscope.viewer.scribble`), bytes.
SCRIBBLE_BODY = 8_000_000
#: Threads serving requests. Slices are NumPy/Zarr work that releases the GIL, so a few threads per
#: core keep both busy while others wait on the disk or the network.
WORKERS = 16
#: Connections accepted but not yet finished (queued or being served); more are answered 503.
MAX_PENDING = 256
#: Listen backlog of the socket (connections the kernel holds before the server accepts them).
BACKLOG = 128
#: Seconds a connection may stay silent (per read or write) before it is closed.
IDLE_TIMEOUT = 5.0
#: Seconds a client has, once a worker takes its connection, to deliver the request line, headers and body.
REQUEST_TIMEOUT = 15.0
#: The only methods the viewer answers; every other one gets a JSON 405.
ALLOWED_METHODS = "GET, HEAD, POST"
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class HTTPError(Exception):
    """An error answer with an HTTP status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


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


def serve_until_interrupted(server: Any, *, open_browser: bool = True) -> None:
    """Print ``server.url`` (with its token) on stdout, open it in a browser unless told not to, serve until Ctrl-C."""
    import webbrowser

    print(server.url, flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    host = host.strip().rstrip(".").lower().removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The host part of a ``Host`` header or URL authority, lower case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _bind_error(exc: OSError, host: str, port: int) -> IonscopeError:
    """A one-line explanation of why ``host:port`` cannot be listened on."""
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    if exc.errno == errno.EADDRINUSE:
        return IonscopeError(f"cannot listen on {where}: the port is in use; choose another with --port "
                             "(--port 0 picks a free one)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return IonscopeError(f"cannot listen on {where}: permission denied (ports below 1024 need "
                             "administrator rights); choose another with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return IonscopeError(f"cannot listen on {where}: the address is not one of this machine's")
    return IonscopeError(f"cannot listen on {where}: {exc.strerror or exc}")


def _address_family(host: str, port: int) -> socket.AddressFamily:
    """IPv4 or IPv6, as the system resolves ``host``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise IonscopeError(f"cannot listen on {host!r}: the name does not resolve ({exc.strerror})") from None
    except (UnicodeError, ValueError) as exc:
        raise IonscopeError(f"cannot listen on {host!r}: not a host name ({exc})") from None
    return infos[0][0]


class _Deadlines:
    """One watchdog thread that closes connections whose request has not arrived in time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ionscope-viewer-deadlines")
        self._thread.start()

    def start(self, sock: socket.socket) -> None:
        with self._lock:
            self._due[sock] = time.monotonic() + self.seconds

    def done(self, sock: socket.socket) -> None:
        with self._lock:
            self._due.pop(sock, None)

    def _run(self) -> None:
        while not self._stop.wait(min(0.25, self.seconds / 4)):
            now = time.monotonic()
            with self._lock:
                late = [s for s, t in self._due.items() if t <= now]
                for s in late:
                    del self._due[s]
            for s in late:
                try:
                    s.shutdown(socket.SHUT_RDWR)  # the blocked read returns; the worker moves on
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class ViewerServer(HTTPServer):
    """An HTTP server holding the catalogue, the token and a small cache of rendered slices.

    Requests run on a fixed thread pool (see the module docstring for every limit).

    Parameters
    ----------
    catalogue
        The datasets this session may show.
    host, port
        Address to listen on (loopback unless ``allow_remote``); port 0 picks a free one.
    token
        The session token (random when omitted).
    allow_remote
        Allow a non-loopback ``host``; then the bound host and ``allowed_hosts`` are accepted in the
        ``Host`` header as well as loopback names.
    allowed_hosts
        Further host names or addresses clients may use (only with ``allow_remote``).
    """

    allow_reuse_address = False
    request_queue_size = BACKLOG
    catalog_db: str | None = None  # the results catalogue the /catalog page reads (set by ``ionscope view``)

    def __init__(self, catalogue: Catalogue, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, allow_remote: bool = False,
                 allowed_hosts: Iterable[str] = (), workers: int = WORKERS) -> None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValidationError(f"port {port} is outside 0…65535 (0 picks a free one)")
        extra = list(allowed_hosts)
        if not is_loopback(host) and not allow_remote:
            raise IonscopeError(f"refusing to listen on the non-loopback address {host!r} without --allow-remote")
        if extra and not allow_remote:
            raise IonscopeError("--allow-host names hosts other machines use; it needs --allow-remote")
        self.catalogue = catalogue
        self.token = token or secrets.token_urlsafe(24)
        self.allowed_hosts = frozenset(host_name(h) for h in ([host, *extra] if allow_remote else []))
        self.static = _static_files()
        self.cache: OrderedDict[tuple, bytes] = OrderedDict()
        self.cache_lock = threading.Lock()
        self.blocks: OrderedDict[tuple, Any] = OrderedDict()
        self.address_family = _address_family(host, port)
        try:
            super().__init__((host, port), ViewerHandler)
        except OSError as exc:
            raise _bind_error(exc, host, port) from None
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ionscope-viewer")
        self.deadlines = _Deadlines(REQUEST_TIMEOUT)
        self._pending = 0
        self._pending_lock = threading.Lock()

    def server_bind(self) -> None:  # HTTPServer's calls getfqdn(), a DNS look-up that can hang
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    # --- the bounded pool ------------------------------------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pending_lock:
            busy = self._pending >= MAX_PENDING
            if not busy:
                self._pending += 1
        if busy:
            self._refuse(request)
            return
        try:
            self.pool.submit(self._work, request, client_address)
        except RuntimeError:  # the pool is shut down: the server is closing
            self._done(request)

    def _work(self, request: Any, client_address: Any) -> None:
        self.deadlines.start(request)
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self._done(request)

    def _done(self, request: Any) -> None:
        self.deadlines.done(request)
        self.shutdown_request(request)
        with self._pending_lock:
            self._pending -= 1

    def _refuse(self, request: socket.socket) -> None:
        body = json_bytes(error_body("ServiceUnavailable", "the viewer is busy; try again in a moment"))
        head = (f"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").encode()
        try:
            request.settimeout(0.2)
            request.sendall(head + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client that went away
        pass

    def server_close(self) -> None:
        super().server_close()
        if hasattr(self, "pool"):
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.deadlines.close()

    # --- data helpers ---------------------------------------------------------------------------
    def lead_block(self, entry: Entry, lead: str, index: int) -> Any:
        """Scan (or state) ``index`` of a cube/series with all its species, loaded once and kept (LRU).

        Switching species at the same depth or state then costs no chunk read. Blocks larger than
        :data:`MAX_BLOCK_BYTES` stay lazy (only the requested plane is read).
        """
        block = entry.loaded()[0].isel({lead: slice(index, index + 1)})
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
        address, port = self.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)  # typeshed allows bytes
        shown = host if ":" not in host else f"[{host}]"
        return f"http://{shown}:{port}/?token={self.token}"

    def host_allowed(self, name: str) -> bool:
        """Whether a client may address this server as ``name`` (a Host header's host part)."""
        return is_loopback(name) or name in self.allowed_hosts

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
                token: str | None = None, allow_remote: bool = False,
                allowed_hosts: Iterable[str] = (), strict: bool = False) -> ViewerServer:
    """Build the catalogue from ``paths`` and bind a server (not yet serving; call ``serve_forever``).

    The address is bound before any dataset is read, so a bad ``host`` or ``port`` fails at once.
    With ``strict`` (the command line), a path given by name that cannot be loaded, or paths of which
    none loads, raise its :class:`~ionscope.model.IonscopeError` and the server is closed; otherwise
    failures are listed in the catalogue.
    """
    catalogue = Catalogue()
    server = ViewerServer(catalogue, host=host, port=port, token=token, allow_remote=allow_remote,
                          allowed_hosts=allowed_hosts)
    try:
        given = {Path(p): catalogue.add(p) for p in paths}
        if strict:
            catalogue.require(given)
    except BaseException:
        server.server_close()
        raise
    return server


class ViewerHandler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "ionscope-viewer"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    default_request_version = "HTTP/1.0"  # answers always carry headers, even to an HTTP/0.9-style line

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

    def _json(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
        self._send(status, json_bytes(obj), "application/json", extra)

    def _error(self, status: int, kind: str | None, message: str, path: str | None = None,
               extra: dict[str, str] | None = None) -> None:
        self._json(status, error_body(kind or HTTP_TYPES.get(status, "Error"), message, path), extra)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found while parsing the request line and headers, as JSON (not the HTML page)."""
        extra = {"Connection": "close"}
        if code == 501:  # an unknown method
            code, message = 405, f"method {self.command!r} is not allowed; the viewer answers {ALLOWED_METHODS}"
            extra["Allow"] = ALLOWED_METHODS
        self.close_connection = True
        try:
            self._error(code, None, message or self.responses.get(code, ("error",))[0], None, extra)
        except OSError:
            pass

    def _token_ok(self, query: dict[str, list[str]]) -> bool:
        given = query.get("token", [None])[0] or self.headers.get("X-Ionscope-Token")
        if not given:
            try:
                cookie = SimpleCookie(self.headers.get("Cookie", ""))
            except CookieError:
                cookie = SimpleCookie()
            given = cookie["ionscope_token"].value if "ionscope_token" in cookie else None
        try:
            return bool(given) and hmac.compare_digest(str(given).encode(), self.server.token.encode())
        except (UnicodeError, TypeError):
            return False

    def _check_host(self) -> None:
        host = self.headers.get("Host")
        if not host:
            raise HTTPError(400, "the request has no Host header")
        if not self.server.host_allowed(host_name(host)):
            raise HTTPError(403, f"the viewer does not answer to the host name {host_name(host)!r}; open the "
                                 "URL printed by `ionscope view` (other names need --allow-remote --allow-host)")

    def _check_post(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            try:
                port = parts.port or 80
            except ValueError:
                port = -1
            if (parts.scheme != "http" or not self.server.host_allowed(host_name(parts.hostname or ""))
                    or port != self.server.server_port):
                raise HTTPError(403, "cross-origin POST refused: the request comes from another web page")
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise HTTPError(403, "cross-site POST refused: the request comes from another web page")
        ctype = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise HTTPError(415, f"a POST body must be sent as Content-Type: application/json, not {ctype or 'none'!r}")

    def _body(self, limit: int = MAX_BODY) -> bytes:
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise HTTPError(411, "a POST needs a Content-Length")
        try:
            length = int(raw)
        except ValueError:
            raise HTTPError(400, "bad Content-Length") from None
        if length <= 0 or length > limit:
            raise HTTPError(413 if length > limit else 400, f"the body must be 1…{limit} bytes of JSON")
        body = self.rfile.read(length)
        if len(body) < length:
            raise HTTPError(400, "the body ended before its Content-Length")
        return body

    def _dispatch(self, method: str) -> None:
        self._entry: Entry | None = None
        try:
            try:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, max_num_fields=100)
            except ValueError:
                raise HTTPError(400, "malformed URL or too many query parameters") from None
            self._check_host()
            if not self._token_ok(query):
                raise HTTPError(401, "missing or wrong access token; open the URL printed by `ionscope view`")
            body = b""
            if method == "POST":
                self._check_post()
                body = self._body(SCRIBBLE_BODY if parts.path.endswith("/scribbles") else MAX_BODY)
            self.server.deadlines.done(self.connection)  # the whole request is in
            params = {k: v[-1] for k, v in query.items() if k != "token"}
            self._route(method, parts.path, params, body)
        except HTTPError as exc:
            self._error(exc.status, None, str(exc), self._rel(), exc.headers)
        except IonscopeError as exc:
            msg = self.server.catalogue.scrub(exc.problem)
            path = self.server.catalogue.scrub.relative(exc.path) if exc.path else self._rel()
            self._error(422, type(exc).__name__, msg, path)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except (OSError, RuntimeError) as exc:
            if self._entry is None:
                self._internal(exc)
            else:  # a lazy read of a file damaged or removed after start-up (e.g. a Zstd chunk error)
                msg = f"the stored data cannot be read, the file may be damaged or gone: {exc}"
                self._error(422, "FormatError", self.server.catalogue.scrub(msg), self._rel())
        except Exception as exc:  # never let one request take the server down
            self._internal(exc)

    def _internal(self, exc: Exception) -> None:
        """A 500 naming the unexpected exception (paths made relative)."""
        try:
            msg = self.server.catalogue.scrub(f"internal error: {type(exc).__name__}: {exc}")
            self._error(500, None, msg, self._rel())
        except OSError:
            pass

    def _rel(self) -> str | None:
        entry = getattr(self, "_entry", None)
        return entry.rel if entry is not None else None

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._error(405, None, f"method {self.command} is not allowed; the viewer answers "
                               f"{ALLOWED_METHODS}", None, {"Allow": ALLOWED_METHODS})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _method_not_allowed

    # --- routes ---------------------------------------------------------------------------------
    def _route(self, method: str, path: str, params: dict[str, str], body: bytes) -> None:
        if path in ("/", "/index.html"):
            self._index()
            return
        if path.startswith("/static/"):
            self._static(path[len("/static/"):])
            return
        if path == "/catalog" or path == "/api/catalog" or path.startswith("/api/catalog/"):
            from ionscope.viewer.catalog_page import handle  # the results-catalogue page

            handle(self, method, path, params)
            return
        segs = [s for s in path.split("/") if s]
        if segs[:2] != ["api", "datasets"]:
            raise HTTPError(404, f"no such page: {path[:200]}")
        if len(segs) == 2 and method == "GET":
            self._json(200, {"datasets": [e.summary() for e in self.server.catalogue.entries()]})
            return
        entry = self.server.catalogue.get(segs[2]) if len(segs) >= 3 else None
        if entry is None:
            raise HTTPError(404, f"unknown dataset {segs[2][:100]!r}" if len(segs) >= 3 else "no dataset named")
        self._entry = entry
        if len(segs) == 3 and method == "GET":
            self._json(200, entry.describe())
            return
        if len(segs) != 4:
            raise HTTPError(404, f"no such page: {path[:200]}")
        action = segs[3]
        if action in ("scribbles", "scribbles-slice"):
            from ionscope.viewer.scribble import handle as scribbles

            scribbles(self, entry, method, action, params, body)
            return
        routes = {("GET", "image"): self._image, ("GET", "labels"): self._labels,
                  ("GET", "spectrum"): self._spectrum, ("GET", "profile"): self._profile,
                  ("GET", "operando"): self._operando, ("GET", "map"): self._map, ("GET", "side"): self._side,
                  ("GET", "value"): self._value}
        if (method, action) == ("POST", "roi"):
            if not entry.ok:
                raise HTTPError(409, entry.error or "the dataset failed to load")
            self._roi(entry, body)
            return
        handler = routes.get((method, action))
        if handler is None:
            if action == "roi" or any(a == action for _, a in routes):
                raise HTTPError(405, f"{action[:100]} does not accept {method}",
                                {"Allow": "POST" if action == "roi" else "GET, HEAD"})
            raise HTTPError(404, f"no such view data: {action[:100]}")
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
            raise HTTPError(404, f"no such asset: {name[:100]}")
        ext = name[name.rfind("."):]
        self._send(200, body, STATIC_TYPES.get(ext, "application/octet-stream"))

    def _image(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.slicing import MAX_IMAGE_PX, image_of, int_param

        max_px = int_param({"max": params.get("max", MAX_IMAGE_PX)}, "max", 4097)
        if max_px < 16:
            raise ValidationError(f"parameter 'max' must be 16…4096 pixels, got {max_px}")
        key = (entry.id, "image", tuple(sorted(params.items())))

        def make() -> bytes:
            data, kind = entry.loaded()
            lead = {"cube3d": "scan", "operando": "state"}.get(kind)
            if lead is None or params.get(lead) == "sum":
                return encode_image(*image_of(data, kind, params, max_px))
            i = int_param(params, lead, data.sizes[lead])
            block = self.server.lead_block(entry, lead, i)  # all species of this scan/state, read once
            values, header = image_of(block, kind, {**params, lead: 0}, max_px)
            header["selection"][lead] = i
            return encode_image(values, header)

        self._send(200, self.server.cached(key, make), "application/octet-stream")

    def _labels(self, entry: Entry, params: dict[str, str]) -> None:
        labels = entry.labels
        if labels is None:
            raise HTTPError(404, f"{entry.path.name} has no label volume")
        key = (entry.id, "labels", tuple(sorted(params.items())))

        def make() -> bytes:
            from ionscope.viewer.slicing import MAX_IMAGE_PX, plane_of

            plane, sel = plane_of(labels, "volume", params)
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
        data, kind = entry.loaded()
        self._send(200, self.server.cached(key, lambda: json_bytes(spectrum_of(data, kind, params))),
                   "application/json")

    def _profile(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.slicing import profile_of

        key = (entry.id, "profile")
        data, kind = entry.loaded()
        self._send(200, self.server.cached(key, lambda: json_bytes(profile_of(data, kind))),
                   "application/json")

    def _map(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.maps import map_image

        key = (entry.id, "map", tuple(sorted(params.items())))
        self._send(200, self.server.cached(key, lambda: encode_image(*map_image(entry.dataset, params))),
                   "application/octet-stream")

    def _side(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.maps import side_image

        data, kind = entry.loaded()
        if kind != "cube3d":
            raise ValidationError(f"side views are cut from 3-D cubes, not from a {kind}")
        key = (entry.id, "side", tuple(sorted(params.items())))
        self._send(200, self.server.cached(key, lambda: encode_image(*side_image(data, params))),
                   "application/octet-stream")

    def _value(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.maps import map_value, side_value

        if "plane" in params:
            data, kind = entry.loaded()
            if kind != "cube3d":
                raise ValidationError(f"side views are cut from 3-D cubes, not from a {kind}")
            self._json(200, side_value(data, params))
        else:
            self._json(200, map_value(entry.dataset, params))

    def _operando(self, entry: Entry, params: dict[str, str]) -> None:
        from ionscope.viewer.annotations import operando_curve
        from ionscope.viewer.slicing import roi_result

        data, kind = entry.loaded()
        if kind != "operando":
            raise ValidationError(f"a {kind} is not an operando series")
        whole = {"type": "rect", "x0": 0, "y0": 0, "x1": data.sizes["x"], "y1": data.sizes["y"]}
        curve = operando_curve(data)
        curve["n_states"] = int(data.sizes["state"])
        curve["whole_field"] = roi_result(data, "operando", whole, "trajectory")
        self._json(200, curve)

    def _roi(self, entry: Entry, raw: bytes) -> None:
        from ionscope.viewer.slicing import roi_result

        body = strict_json(raw, "the ROI body")
        if not isinstance(body, dict) or "roi" not in body:
            raise ValidationError("the ROI body must be {\"roi\": {...}, \"what\": \"spectrum|profile|trajectory\"}")
        what = body.get("what", "spectrum")
        if what not in ("spectrum", "profile", "trajectory"):
            raise ValidationError(f"'what' must be spectrum, profile or trajectory, got {str(what)[:50]!r}")
        self._json(200, roi_result(*entry.loaded(), body["roi"], what))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strict_json(raw: bytes, what: str) -> Any:
    """A request body parsed as strict JSON (no NaN or Infinity); ValidationError naming ``what`` else."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ValidationError(f"{what} is not valid JSON") from None
    except ValueError as exc:
        raise ValidationError(f"{what} is not strict JSON: {exc}") from None


def serve_in_thread(server: ViewerServer) -> threading.Thread:
    """Run ``server`` in a daemon thread (tests, benchmark); stop with ``server.shutdown()``."""
    t = threading.Thread(target=server.serve_forever, daemon=True, name="ionscope-viewer")
    t.start()
    return t
