"""A registered pair in the browser: blend slider, and landmark pairs clicked and saved as CSV.

The page shows the FIXED image with the MOVING image resampled onto it (a slider blends them), and
both images side by side for landmark picking: click a feature on the fixed image, then the same
feature on the moving image; the pairs (in each image's µm) are saved as the CSV that
``ionscope correlate register --landmarks`` reads. Standard library server, loopback only, every
request needs the session token; the only write is the landmark CSV at the path given on the
command line. That CSV is written atomically (temporary file, then rename); an existing file is
replaced only with ``force`` or when it is the one this session saved last (Save clicked again).
"""

from __future__ import annotations

import hmac
import io
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ionscope.correlate.grid import Grid
from ionscope.model.errors import IonscopeError, OutputExistsError, ValidationError

#: Longest side (pixels) of the images sent to the browser.
MAX_SIDE = 1024
#: Largest landmark POST body (bytes).
MAX_BODY = 200_000
#: Most landmark pairs saved at once.
MAX_PAIRS = 500


def _png(plane: np.ndarray) -> bytes:
    """8-bit greyscale PNG of ``plane`` (1st–99th percentile stretch; NaN transparent-black)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = np.asarray(plane, float)
    ok = np.isfinite(a)
    lo, hi = np.percentile(a[ok], [1, 99]) if ok.any() else (0.0, 1.0)
    grey = np.clip((np.nan_to_num(a, nan=lo) - lo) / max(hi - lo, 1e-12), 0, 1)
    rgba = np.dstack([grey, grey, grey, ok.astype(float)])
    buf = io.BytesIO()
    plt.imsave(buf, rgba, format="png")
    return buf.getvalue()


def _shrink(plane: np.ndarray) -> tuple[np.ndarray, int]:
    """Block-mean ``plane`` by an integer factor so that its longer side is ≤ :data:`MAX_SIDE`."""
    f = max(1, int(np.ceil(max(plane.shape) / MAX_SIDE)))
    if f == 1:
        return plane, 1
    ny, nx = (plane.shape[0] // f) * f, (plane.shape[1] // f) * f
    return plane[:ny, :nx].reshape(ny // f, f, nx // f, f).mean(axis=(1, 3)), f


def _extent(grid: Grid, factor: int) -> list[float]:
    """[x_left, x_right, y_top, y_bottom] (µm, pixel edges) of the image as sent (after shrinking)."""
    (ny, nx), (dy, dx), (y0, x0) = grid.shape, grid.pixel_um, grid.origin_um
    return [x0 - dx / 2, x0 - dx / 2 + (nx // factor) * factor * dx,
            y0 - dy / 2, y0 - dy / 2 + (ny // factor) * factor * dy]


class PairView:
    """What the page shows: PNGs of the fixed, moving and resampled moving images, and their grids;
    and where its landmarks are saved (:meth:`save_landmarks`).

    ``force`` lets the first save replace an existing ``landmarks_out``; without it only the file this
    view saved itself is replaced (by the next save).
    """

    def __init__(self, fixed: np.ndarray, fixed_grid: Grid, moving: np.ndarray, moving_grid: Grid,
                 warped: np.ndarray | None, landmarks_out: Path, *, force: bool = False) -> None:
        f_small, self.f_factor = _shrink(fixed)
        self.images = {"fixed.png": _png(f_small), "moving.png": _png(moving)}
        if warped is not None:
            self.images["warped.png"] = _png(_shrink(warped)[0])
        self.meta = {"fixed": fixed_grid.to_dict(), "moving": moving_grid.to_dict(),
                     "fixed_extent_um": _extent(fixed_grid, self.f_factor),
                     "moving_extent_um": _extent(moving_grid, 1),
                     "registered": warped is not None, "landmarks_file": str(landmarks_out)}
        self.landmarks_out = landmarks_out
        self.force = force
        self._saved: tuple[int, ...] | None = None  # identity of the file this view wrote last
        self._lock = threading.Lock()

    def save_landmarks(self, pairs: Any) -> int:
        """Write ``pairs`` to ``landmarks_out`` (see :func:`write_landmarks`); return how many.

        An existing file is replaced only with ``force`` or when it is still the file this view saved
        last (same device, inode, size and modification time); anything else there raises
        :class:`~ionscope.model.errors.OutputExistsError` and is left as it is.
        """
        with self._lock:
            mine = self._saved is not None and _identity(self.landmarks_out) == self._saved
            n = write_landmarks(self.landmarks_out, pairs, force=self.force or mine)
            self._saved = _identity(self.landmarks_out)
            return n


def _identity(path: Path) -> tuple[int, ...] | None:
    """Device, inode, size and modification time (ns) of ``path`` (not followed if a link); None if absent."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def write_landmarks(path: Path, pairs: Any, *, force: bool = False) -> int:
    """Write landmark pairs ``[{fixed: [x, y], moving: [x, y]}, …]`` (µm) as the ``--landmarks`` CSV,
    atomically; an existing ``path`` is replaced only with ``force``."""
    if not isinstance(pairs, list) or not 1 <= len(pairs) <= MAX_PAIRS:
        raise ValidationError(f"landmarks must be a list of 1–{MAX_PAIRS} pairs")
    rows = []
    for p in pairs:
        try:
            fx, fy = (float(v) for v in p["fixed"])
            mx, my = (float(v) for v in p["moving"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError("each landmark pair needs fixed [x, y] and moving [x, y] in µm") from None
        if not all(np.isfinite([fx, fy, mx, my])):
            raise ValidationError("landmark positions must be finite numbers")
        rows.append(f"{fx!r},{fy!r},{mx!r},{my!r}")
    from ionscope.correlate.pipeline import LANDMARK_COLUMNS
    from ionscope.io.atomic import write_text

    write_text(path, ",".join(LANDMARK_COLUMNS) + "\n" + "\n".join(rows) + "\n", force=force)
    return len(rows)


def _static(name: str) -> bytes:
    return resources.files("ionscope.viewer").joinpath("static", "correlate", name).read_bytes()


#: Content types of what the server sends, by file suffix.
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".json": "application/json"}


class _PairHandler(BaseHTTPRequestHandler):
    """Requests to the pair viewer: every one needs the session token and a loopback ``Host``.

    :func:`make_server` subclasses it with the ``view`` to show and the session ``token``.
    """

    view: PairView
    token: str

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _authorised(self) -> bool:
        q = parse_qs(urlsplit(self.path).query)
        given = (q.get("token") or [self.headers.get("X-Ionscope-Token", "")])[0]
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return hmac.compare_digest(given, self.token) and host in ("127.0.0.1", "localhost", "[::1]")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str) -> None:
        self._send(code, json.dumps({"error": {"type": "HTTPError", "message": message, "path": None}}).encode(),
                   _TYPES[".json"])

    def _page(self) -> bytes:
        """The HTML page with the token added to its script and style links."""
        page = _static("correlate.html")
        for asset in (b"correlate.js", b"correlate.css"):
            page = page.replace(b'"' + asset + b'"', b'"' + asset + b"?token=" + self.token.encode() + b'"')
        return page

    def _get(self, route: str) -> tuple[int, bytes, str] | None:
        """Status, body and content type of a GET ``route``, or None when there is no such route."""
        images = self.view.images
        if route == "/":
            return 200, self._page(), _TYPES[".html"]
        if route in ("/correlate.js", "/correlate.css"):
            return 200, _static(route[1:]), _TYPES[Path(route).suffix]
        if route.startswith("/img/") and route[5:] in images:
            return 200, images[route[5:]], _TYPES[".png"]
        if route == "/api/meta":
            return 200, json.dumps(self.view.meta).encode(), _TYPES[".json"]
        return None

    def do_GET(self) -> None:
        if not self._authorised():
            return self._error(401, "missing or wrong token")
        found = self._get(urlsplit(self.path).path)
        if found is None:
            return self._error(404, "no such route")
        return self._send(*found)

    def _body_length(self) -> int:
        """The declared body length, -1 when it is not a number."""
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return -1

    def _refusal(self) -> tuple[int, str] | None:
        """Why a POST is refused (status and message), None when it may be read."""
        if not self._authorised():
            return 401, "missing or wrong token"
        if urlsplit(self.path).path != "/api/landmarks":
            return 404, "no such route"
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return 415, "send application/json"
        length = self._body_length()
        if not 0 < length <= MAX_BODY:
            return 413 if length > MAX_BODY else 400, "bad request body size"
        return None

    def do_POST(self) -> None:
        refused = self._refusal()
        if refused is not None:
            return self._error(*refused)
        try:
            pairs = json.loads(self.rfile.read(self._body_length()))
            n = self.view.save_landmarks(pairs)
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
            return self._error(422, str(exc))
        except OutputExistsError:  # another program wrote there since the viewer started
            return self._error(409, f"{self.view.landmarks_out} was written by another program since this viewer "
                                    "started; it is left as it is (start the viewer again with --force to replace "
                                    "it, or with another --landmarks-out)")
        except (IonscopeError, OSError) as exc:
            return self._error(500, f"could not save {self.view.landmarks_out}: {exc}")
        return self._send(200, json.dumps({"saved": n, "path": str(self.view.landmarks_out)}).encode(),
                          _TYPES[".json"])


class PairServer(ThreadingHTTPServer):
    """The pair viewer's loopback server: its session ``token`` and the ``url`` that carries it."""

    daemon_threads = True

    def __init__(self, port: int, handler: type[_PairHandler], token: str) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.token = token
        self.url = f"http://127.0.0.1:{self.server_address[1]}/?token={token}"


def make_server(view: PairView, *, port: int = 0) -> PairServer:
    """A loopback server for ``view``; its URL (with the token) is ``server.url``."""
    token = secrets.token_urlsafe(24)
    handler = type("Handler", (_PairHandler,), {"view": view, "token": token})
    return PairServer(port, handler, token)


def pair_view(fixed_path: Path, moving_path: Path, transform_path: Path | None, landmarks_out: Path, *,
              fixed_pixel_um: float | None = None, moving_pixel_um: float | None = None,
              force_pair: bool = False, force: bool = False) -> PairView:
    """Read the pair (and the transform, checked against it) and build the page's images.

    ``force`` lets Save replace an existing ``landmarks_out`` (see :class:`PairView`); the command line
    checks ``landmarks_out`` before calling this, so that a refusal comes before any work.
    """
    from ionscope.correlate.grid import grid_of, looks_like_counts, registration_plane
    from ionscope.correlate.pipeline import fixed_plane, read_image
    from ionscope.correlate.transfer import resample_to_fixed
    from ionscope.correlate.transform import check_image, load_transform
    from ionscope.model.provenance import sha256_of

    f_da, m_da = read_image(fixed_path), read_image(moving_path)
    if "z" in f_da.dims:
        raise ValidationError("the pair viewer shows 2-D images; FIXED is a volume (z, y, x)", fixed_path)
    mplane = registration_plane(m_da, None, looks_like_counts(m_da))
    warped = None
    if transform_path is not None:
        ct = load_transform(transform_path)
        check_image(ct.fixed, "fixed", (f_da.sizes["y"], f_da.sizes["x"]), sha256_of(fixed_path), fixed_path,
                    force_pair)
        check_image(ct.moving, "moving", (m_da.sizes["y"], m_da.sizes["x"]), sha256_of(moving_path), moving_path,
                    force_pair)
        fgrid, mgrid = ct.fixed.grid, ct.moving.grid
        warped = resample_to_fixed(mplane[..., None], mgrid, fgrid, ct.itk())[..., 0]
    else:
        fgrid, mgrid = grid_of(f_da, "fixed", fixed_pixel_um), grid_of(m_da, "moving", moving_pixel_um)
    return PairView(fixed_plane(f_da), fgrid, mplane, mgrid, warped, landmarks_out, force=force)


def serve(view: PairView, *, port: int = 0, open_browser: bool = True) -> None:
    """Serve ``view`` until interrupted, printing the URL."""
    from ionscope.viewer.server import serve_until_interrupted

    serve_until_interrupted(make_server(view, port=port), open_browser=open_browser)
