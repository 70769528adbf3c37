"""Scribble labels drawn on volume slices in the viewer, saved as the label file ``tomo train --labels`` reads.

Routes (on a ``volume`` dataset ``<id>``; token, Host and same-origin rules as every viewer route):

=============================================  =====================================================
``GET /api/datasets/<id>/scribbles``           the label file of this stack: relative path, whether
                                               it exists, its classes and colours, the limits below
``GET /api/datasets/<id>/scribbles-slice``     one slice (``axis`` z|y|x, ``index``) of the saved
                                               label file, in the viewer's binary image format
``POST /api/datasets/<id>/scribbles``          rasterise the posted strokes and save the label file
=============================================  =====================================================

The label file
    A Zarr store ``<stack name>.labels.zarr`` beside the stack, chosen by the server (a request never
    names a path). It holds a uint8 (z, y, x) volume of the stack's shape: 0 = not labelled, 1…n the
    classes. Its attributes carry ``classes`` (names of values 1…n), ``class_colours`` (``#rrggbb``),
    ``phases`` (name → value, with ``unlabelled`` 0), ``spacing_um`` (the stack's voxel size, µm) and
    ``stack`` (name, shape, voxel size and SHA-256 of the labelled stack), and a provenance record.
    ``ionscope tomo train STACK --labels stack.labels.zarr`` reads it as it is and takes the class
    names from it when ``--classes`` is omitted. Zarr rather than TIFF: the store's attributes keep
    the class names and the stack's hash exactly, which a TIFF's ImageJ header does not.

Strokes on the wire
    A stroke is a polyline with a round brush: ``{"axis": "z", "index": 12, "class": 2, "radius":
    3.0, "points": [x0, y0, x1, y1, …]}`` with the points in full-resolution pixel coordinates of
    that slice (``x`` the column, ``y`` the row, pixel ``i`` spans ``i…i+1``) and the radius in
    voxels; ``class`` 0 erases. The server paints, in order, every voxel whose centre lies within
    ``radius`` of the polyline (the swept disc, which is what the browser draws with a round line
    cap). Polylines rather than per-slice masks: they are what the hand drew (a stroke is a few
    hundred bytes however large the slice), they do not depend on the downsampled display, undo is
    dropping the last stroke, and the rasterising happens once, at full resolution, on the server.

Body of the POST
    ``{"classes": [{"name", "colour"}, …], "strokes": [...], "base": "none"|"file", "overwrite":
    false}``. ``base: "file"`` paints the strokes over the label file as saved (its classes must
    begin the posted class list); ``"none"`` starts from an empty volume. An existing label file is
    replaced only with ``overwrite: true`` (the page asks the user first); otherwise the answer is
    409 ``OutputExistsError``. Every count, class code, index, point and radius is checked, and the
    volume's size and the painting work are bounded, before the label volume is allocated; errors
    are 422 ``ValidationError`` naming the stroke at fault.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import IonscopeError, OutputExistsError, ValidationError

#: Most classes of one label file (uint8 codes 1…255).
MAX_CLASSES = 255
#: Longest class name (characters).
MAX_NAME = 64
#: Most strokes in one save.
MAX_STROKES = 20_000
#: Most polyline points (over all strokes) in one save.
MAX_POINTS = 200_000
#: Largest brush radius, voxels.
MAX_RADIUS = 256.0
#: Smallest brush radius, voxels: half a voxel, so that a click always labels the voxel under it.
MIN_RADIUS = 0.5
#: Largest label volume the viewer allocates (bytes of uint8, i.e. voxels).
MAX_LABEL_VOXELS = 1024**3
#: Most voxel distance evaluations one save may cost (the area swept by the brushes, with margins).
MAX_PAINT_WORK = 2_000_000_000
#: Suffix of the label file beside a stack.
LABEL_SUFFIX = ".labels.zarr"
#: The label file's format name and version (attribute ``label_file``).
LABEL_FORMAT = "ionscope-scribble-labels"
LABEL_FORMAT_VERSION = 1

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_STACK_SUFFIXES = (".tif.zip", ".tiff.zip", ".zarr", ".tiff", ".tif", ".npy", ".h5", ".hdf5")
#: Plane of each slice axis: (row dim, column dim).
PLANES = {"z": ("y", "x"), "y": ("z", "x"), "x": ("z", "y")}
_save_lock = threading.Lock()


@dataclass
class Stroke:
    """One brush stroke: slice, class code (0 erases), radius in voxels, points (n, 2) as (x, y)."""

    axis: str
    index: int
    code: int
    radius: float
    points: np.ndarray


@dataclass
class LabelRequest:
    """A validated save request."""

    classes: list[str]
    colours: list[str]
    strokes: list[Stroke] = field(default_factory=list)
    base: str = "none"
    overwrite: bool = False


def label_path(stack: Path) -> Path:
    """The label file of ``stack``: ``<name without its format suffix>.labels.zarr`` in the same folder."""
    name = stack.name
    for suffix in _STACK_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return stack.parent / f"{name or 'stack'}{LABEL_SUFFIX}"


def volume_shape(da: xr.DataArray) -> tuple[int, int, int]:
    """(nz, ny, nx) of a (z, y, x) volume."""
    return int(da.sizes["z"]), int(da.sizes["y"]), int(da.sizes["x"])


def _plane_shape(shape: Sequence[int], axis: str) -> tuple[int, int]:
    sizes = dict(zip("zyx", shape))
    r, c = PLANES[axis]
    return sizes[r], sizes[c]


def _classes(raw: Any) -> tuple[list[str], list[str]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CLASSES:
        raise ValidationError(f"'classes' must be a list of 1…{MAX_CLASSES} classes {{\"name\", \"colour\"}} "
                              "(label values 1, 2, … in that order)")
    names, colours = [], []
    for i, c in enumerate(raw, start=1):
        if not isinstance(c, Mapping) or not isinstance(c.get("name"), str):
            raise ValidationError(f"class {i} must be {{\"name\": text, \"colour\": \"#rrggbb\"}}")
        name = c["name"].strip()
        if not name or len(name) > MAX_NAME or "," in name or not name.isprintable():
            raise ValidationError(f"class {i}: a name must be 1…{MAX_NAME} printable characters without commas "
                                  f"(tomo train --classes separates names by commas), got {c['name'][:80]!r}")
        if name.lower() == "unlabelled":
            raise ValidationError(f"class {i}: 'unlabelled' is the name of label value 0; choose another name")
        colour = c.get("colour", "#808080")
        if not isinstance(colour, str) or not _COLOUR.match(colour):
            raise ValidationError(f"class {i} ({name}): colour must be #rrggbb, got {str(colour)[:20]!r}")
        names.append(name)
        colours.append(colour.lower())
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValidationError(f"class name {dup[0]!r} is given twice")
    return names, colours


def _number(v: Any) -> bool:
    """A JSON number that is a finite float (an integer too large for a float is not)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _stroke(i: int, s: Any, shape: Sequence[int], n_classes: int) -> Stroke:
    where = f"stroke {i}"
    if not isinstance(s, Mapping):
        raise ValidationError(f"{where} must be an object {{axis, index, class, radius, points}}")
    axis = s.get("axis")
    if not isinstance(axis, str) or axis not in PLANES:
        raise ValidationError(f"{where}: axis must be z, y or x, got {str(axis)[:20]!r}")
    n_axis = dict(zip("zyx", shape))[axis]
    index, code, radius = s.get("index"), s.get("class"), s.get("radius")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n_axis:
        raise ValidationError(f"{where}: index must be an integer slice number 0…{n_axis - 1} along {axis}, "
                              f"got {str(index)[:20]}")
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= n_classes:
        raise ValidationError(f"{where}: class must be 0 (erase) or a class code 1…{n_classes}, got {str(code)[:20]}")
    r = float(radius) if isinstance(radius, (int, float)) and _number(radius) else math.nan
    if not MIN_RADIUS <= r <= MAX_RADIUS:
        raise ValidationError(f"{where}: radius must be {MIN_RADIUS}…{MAX_RADIUS:g} voxels, got {str(radius)[:20]}")
    pts = s.get("points")
    if not isinstance(pts, list) or len(pts) < 2 or len(pts) % 2:
        raise ValidationError(f"{where}: points must be a flat list [x0, y0, x1, y1, …] of at least one point")
    if not all(_number(v) for v in pts):
        raise ValidationError(f"{where}: points must be finite numbers")
    arr = np.asarray(pts, dtype=float).reshape(-1, 2)
    rows, cols = _plane_shape(shape, axis)
    if not np.all(np.isfinite(arr)) or arr[:, 0].min() < 0 or arr[:, 0].max() > cols or arr[:, 1].min() < 0 \
            or arr[:, 1].max() > rows:
        raise ValidationError(f"{where}: points must lie in the {axis} slice, x in 0…{cols} and y in 0…{rows} "
                              "(full-resolution pixels)")
    return Stroke(axis, index, code, r, arr)


def paint_work(strokes: Sequence[Stroke]) -> float:
    """Voxel distance evaluations :func:`paint` will make (pieces of at most one radius, each over a box)."""
    work = 0.0
    for s in strokes:
        side = 3 * s.radius + 2
        seg = np.hypot(*np.diff(s.points, axis=0).T).sum() if len(s.points) > 1 else 0.0
        work += (seg / max(s.radius, 1.0) + len(s.points)) * side * side
    return work


def parse_request(body: Any, shape: Sequence[int]) -> LabelRequest:
    """Validate a decoded POST body against a stack of ``shape`` (z, y, x); nothing is allocated here.

    Raises
    ------
    ValidationError
        Naming the field or stroke at fault: the wrong type, a class code outside 0…n, a slice index
        or point outside the stack, a radius outside 0.5…256 voxels, too many strokes or points, a
        volume too large for the viewer, or painting work over :data:`MAX_PAINT_WORK`.
    """
    if not isinstance(body, Mapping):
        raise ValidationError("the body must be an object {classes, strokes, base, overwrite}")
    unknown = sorted(set(body) - {"classes", "strokes", "base", "overwrite"})
    if unknown:
        raise ValidationError(f"unknown field(s) {', '.join(map(str, unknown))[:100]}; expected classes, strokes, "
                              "base, overwrite")
    names, colours = _classes(body.get("classes"))
    base, overwrite = body.get("base", "none"), body.get("overwrite", False)
    if base not in ("none", "file"):
        raise ValidationError(f"'base' must be 'none' (start empty) or 'file' (paint over the saved labels), "
                              f"got {str(base)[:20]!r}")
    if not isinstance(overwrite, bool):
        raise ValidationError("'overwrite' must be true or false")
    raw = body.get("strokes")
    if not isinstance(raw, list) or len(raw) > MAX_STROKES:
        raise ValidationError(f"'strokes' must be a list of at most {MAX_STROKES} strokes")
    n_points = sum(len(s["points"]) // 2 for s in raw if isinstance(s, Mapping) and isinstance(s.get("points"), list))
    if n_points > MAX_POINTS:
        raise ValidationError(f"the strokes hold {n_points} points, more than the {MAX_POINTS} one save takes; "
                              "save more often")
    strokes = [_stroke(i, s, shape, len(names)) for i, s in enumerate(raw, start=1)]
    if not strokes and base == "none":
        raise ValidationError("nothing to save: draw strokes on a slice first (or load the saved labels)")
    voxels = math.prod(int(n) for n in shape)
    if voxels > MAX_LABEL_VOXELS:
        raise ValidationError(f"the stack has {voxels} voxels; the viewer writes label volumes of at most "
                              f"{MAX_LABEL_VOXELS} voxels (label a cropped stack)")
    work = paint_work(strokes)
    if work > MAX_PAINT_WORK:
        raise ValidationError(f"the strokes would cost {work:.3g} voxel evaluations, more than {MAX_PAINT_WORK:.3g}; "
                              "use smaller brushes or save more often")
    return LabelRequest(names, colours, strokes, base, overwrite)


def _capsule(plane: np.ndarray, a: np.ndarray, b: np.ndarray, r: float, value: int) -> None:
    """Set every pixel of ``plane`` whose centre is within ``r`` of segment ``a``–``b`` (x, y) to ``value``."""
    rows, cols = plane.shape
    lo, hi = np.minimum(a, b) - r, np.maximum(a, b) + r
    c0, c1 = max(0, int(math.floor(lo[0] - 0.5))), min(cols, int(math.ceil(hi[0] + 0.5)))
    r0, r1 = max(0, int(math.floor(lo[1] - 0.5))), min(rows, int(math.ceil(hi[1] + 0.5)))
    if c1 <= c0 or r1 <= r0:
        return
    xx = np.arange(c0, c1, dtype=float)[None, :] + 0.5 - a[0]
    yy = np.arange(r0, r1, dtype=float)[:, None] + 0.5 - a[1]
    d = b - a
    length2 = float(d @ d)
    t = np.clip((xx * d[0] + yy * d[1]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
    inside = (xx - t * d[0]) ** 2 + (yy - t * d[1]) ** 2 <= r * r
    plane[r0:r1, c0:c1][inside] = value


def paint(labels: np.ndarray, strokes: Sequence[Stroke]) -> np.ndarray:
    """Paint ``strokes`` in order into the (z, y, x) uint8 ``labels`` (in place) and return it.

    Each polyline segment is cut into pieces no longer than the brush radius, and every piece paints
    the voxels whose centres lie within the radius of it, so the work is proportional to the swept
    area, however long the segment.
    """
    for s in strokes:
        plane = {"z": lambda i: labels[i], "y": lambda i: labels[:, i], "x": lambda i: labels[:, :, i]}[s.axis](s.index)
        pts = s.points if len(s.points) > 1 else np.vstack([s.points, s.points])
        step = max(s.radius, 1.0)
        for a, b in zip(pts[:-1], pts[1:]):
            n = max(1, int(math.ceil(float(np.hypot(*(b - a))) / step)))
            for k in range(n):
                _capsule(plane, a + (b - a) * (k / n), a + (b - a) * ((k + 1) / n), s.radius, s.code)
    return labels


def read_label_file(path: Path, shape: Sequence[int]) -> tuple[xr.DataArray, list[str], list[str]]:
    """The saved label volume (lazy), its class names and colours; checked against the stack's ``shape``."""
    from ionscope.io.zarr_store import load

    da = load(path)
    if not isinstance(da, xr.DataArray) or set(da.dims) != {"z", "y", "x"}:
        raise ValidationError("the label file holds no (z, y, x) label volume", path)
    da = da.transpose("z", "y", "x")
    if volume_shape(da) != tuple(shape):
        raise ValidationError(f"the label file's shape {volume_shape(da)} differs from the stack's {tuple(shape)}",
                              path)
    classes = [str(c) for c in da.attrs.get("classes") or []]
    colours = [str(c) for c in da.attrs.get("class_colours") or []]
    if not classes:  # a label volume written by another program: name its values
        top = int(da.max().values)
        classes = [f"class {v}" for v in range(1, top + 1)]
    if len(colours) != len(classes) or not all(_COLOUR.match(c) for c in colours):
        colours = [default_colour(i) for i in range(len(classes))]
    return da, classes, colours


_PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf")


def default_colour(i: int) -> str:
    """Colour of the ``i``-th class (0-based) when none was chosen: the Brewer ``Set1`` palette."""
    return _PALETTE[i % len(_PALETTE)]


def stack_record(data: xr.DataArray, stack: Path, name: str) -> dict[str, Any]:
    """Name, shape, voxel size (µm) and SHA-256 of the labelled stack, for the label file's attributes."""
    from ionscope.model.arrays import spacing_of
    from ionscope.model.provenance import sha256_of

    return {"name": name, "shape": list(volume_shape(data)), "spacing_um": list(spacing_of(data, ("z", "y", "x"))),
            "sha256": sha256_of(stack)}


def save_labels(data: xr.DataArray, stack: Path, request: LabelRequest, *, name: str | None = None) -> dict[str, Any]:
    """Paint the request's strokes (over the saved labels when ``base`` is ``file``) and write the label file.

    Parameters
    ----------
    data
        The (z, y, x) stack as the viewer shows it (for its shape and voxel size in µm).
    stack
        Its file (hashed into the label file) — the label file goes beside it (:func:`label_path`).
    request
        A request validated by :func:`parse_request`.
    name
        The stack's name as recorded (default: its file name).

    Returns
    -------
    dict
        ``path`` (the label file), ``voxels`` per class name (labelled voxels), ``strokes`` and
        ``warnings`` (classes without a labelled voxel, which ``tomo train`` refuses).

    Raises
    ------
    OutputExistsError
        If the label file exists and ``request.overwrite`` is false.
    """
    from ionscope.io.zarr_store import save
    from ionscope.model.arrays import make_volume, spacing_of
    from ionscope.model.provenance import make_provenance

    shape = volume_shape(data)
    out = label_path(stack)
    with _save_lock:
        if out.exists() and not request.overwrite:
            raise OutputExistsError("already exists; confirm to replace it", out)
        if request.base == "file":
            if not out.exists():
                raise ValidationError("there are no saved labels to paint over (base 'file'); save without them",
                                      out)
            saved, classes, _ = read_label_file(out, shape)
            if request.classes[: len(classes)] != classes:
                raise ValidationError(f"the saved labels have the classes {', '.join(classes)}; the class list "
                                      "must begin with them, in that order", out)
            labels = np.asarray(saved.values).astype(np.uint8, copy=True)
        else:
            labels = np.zeros(shape, np.uint8)
        paint(labels, request.strokes)
        counts = np.bincount(labels.ravel(), minlength=len(request.classes) + 1)
        record = stack_record(data, stack, name or stack.name)
        phases = {"unlabelled": 0, **{c: i for i, c in enumerate(request.classes, start=1)}}
        prov = make_provenance("ionscope.viewer.scribble.save_labels",
                               inputs=[{"name": record["name"], "sha256": record["sha256"]}],
                               parameters={"strokes": len(request.strokes), "base": request.base,
                                           "classes": request.classes})
        vol = make_volume(labels, spacing_of(data, ("z", "y", "x")), units="label", phases=phases, name="labels",
                          attrs={"label_file": LABEL_FORMAT, "label_file_version": LABEL_FORMAT_VERSION,
                                 "classes": request.classes, "class_colours": request.colours, "stack": record,
                                 "provenance": prov})
        try:
            save(vol, out, force=request.overwrite)
        except IonscopeError:
            raise
        except OSError as exc:
            raise IonscopeError(f"cannot write the label file: {exc.strerror or exc}; view a copy of the stack in "
                                "a folder you may write to", out) from None
    empty = [c for i, c in enumerate(request.classes, start=1) if counts[i] == 0]
    warnings = [f"class {', '.join(empty)} has no labelled voxel: tomo train needs examples of every class"] \
        if empty else []
    return {"path": out, "voxels": {c: int(counts[i]) for i, c in enumerate(request.classes, start=1)},
            "unlabelled": int(counts[0]), "strokes": len(request.strokes), "warnings": warnings}


# --------------------------------------------------------------------------- HTTP


def handle(handler: Any, entry: Any, method: str, action: str, params: dict[str, str], body: bytes) -> None:
    """Answer a ``scribbles`` or ``scribbles-slice`` request for ``entry`` on the viewer's ``handler``."""
    from ionscope.viewer.server import HTTPError

    allowed = "GET, HEAD, POST" if action == "scribbles" else "GET, HEAD"
    if method not in allowed.split(", "):
        raise HTTPError(405, f"{action} does not accept {method}", {"Allow": allowed})
    if not entry.ok:
        raise HTTPError(409, entry.error or "the dataset failed to load")
    if entry.kind != "volume":
        raise ValidationError(f"scribble labels are drawn on volumes (3-D stacks); a {entry.kind} is not one")
    scrub = handler.server.catalogue.scrub
    shape = volume_shape(entry.data)
    out = label_path(entry.path)
    if action == "scribbles-slice":
        _slice(handler, out, shape, params)
    elif method == "GET":
        handler._json(200, _info(out, shape, scrub))
    else:
        _post(handler, entry, body, shape, out, scrub)


def _info(out: Path, shape: Sequence[int], scrub: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"path": scrub.relative(out), "exists": out.exists(), "classes": [], "colours": [],
                            "error": None, "shape": list(shape),
                            "limits": {"max_radius": MAX_RADIUS, "min_radius": MIN_RADIUS, "max_classes": MAX_CLASSES,
                                       "max_strokes": MAX_STROKES, "max_points": MAX_POINTS,
                                       "max_name": MAX_NAME}}
    if info["exists"]:
        try:
            _, info["classes"], info["colours"] = read_label_file(out, shape)
        except IonscopeError as exc:
            info["error"] = scrub(exc.problem)
    return info


def _slice(handler: Any, out: Path, shape: Sequence[int], params: dict[str, str]) -> None:
    from ionscope.viewer.server import HTTPError, encode_image
    from ionscope.viewer.slicing import MAX_IMAGE_PX, int_param

    axis = params.get("axis", "z")
    if axis not in PLANES:
        raise ValidationError(f"parameter 'axis' must be z, y or x, got {axis[:20]!r}")
    index = int_param(params, "index", dict(zip("zyx", shape))[axis])
    if not out.exists():
        raise HTTPError(404, "no labels saved for this stack yet")
    da, _, _ = read_label_file(out, shape)
    values = np.asarray(da.isel({axis: index}).values)
    f = max(1, int(np.ceil(max(values.shape) / MAX_IMAGE_PX)))
    if f > 1:
        values = values[::f, ::f]  # nearest label
    header = {"shape": list(values.shape), "full_shape": list(_plane_shape(shape, axis)), "factor": f,
              "selection": {"axis": axis, "index": index}, "labels": True, "min": float(values.min()),
              "max": float(values.max())}
    handler._send(200, encode_image(values.astype(np.float32), header), "application/octet-stream")


def _post(handler: Any, entry: Any, body: bytes, shape: Sequence[int], out: Path, scrub: Any) -> None:
    from ionscope.viewer.server import strict_json

    request = parse_request(strict_json(body, "the scribble body"), shape)
    try:
        result = save_labels(entry.data, entry.path, request, name=entry.rel or entry.path.name)
    except OutputExistsError as exc:
        handler._error(409, "OutputExistsError", f"{scrub.relative(out)} {exc.problem}", scrub.relative(out))
        return
    result["path"] = scrub.relative(result["path"])
    handler._json(200, result)
