"""Triangulated surfaces of depth maps as legacy VTK or binary STL files (written with NumPy).

Why no library: the two formats are fixed, small and fully specified — legacy VTK POLYDATA (Kitware,
*The VTK User's Guide*, 11th ed., 2010, ch. 19 "VTK File Formats") and binary STL (3D Systems,
*StereoLithography Interface Specification*, 1989: an 80-byte header, a little-endian uint32 triangle
count, then per triangle a float32 normal, three float32 vertices and a uint16 attribute). The
general mesh-I/O package meshio has had no release since January 2024, and the maintained VTK
bindings (``vtk``, ``pyvista``) are >100 MB of compiled code for what is here a few array writes.
Files are checked by reading them back with an independent reader (trimesh for STL) in the tests.

Geometry
    One vertex per pixel centre that has a finite depth; each 2×2 block of neighbouring pixels gives
    two triangles when all four have a depth, one when three do, none otherwise, so pixels without an
    interface (NaN) leave holes rather than being interpolated. Triangles are wound so that their
    normals point towards the sample surface (−z, z being the depth below the surface).
"""

from __future__ import annotations

import struct
from os import PathLike
from pathlib import Path

import numpy as np

from ionscope.io.atomic import write_bytes
from ionscope.model.errors import FormatError, ValidationError

#: File suffixes and the format each one writes.
MESH_FORMATS = {".vtk": "vtk", ".stl": "stl"}


def grid_surface(depth: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (n, 3) and triangles (m, 3) of a depth map sampled at pixel centres ``x`` (cols), ``y`` (rows).

    Parameters
    ----------
    depth
        (ny, nx) depth of every pixel, NaN where there is none; the unit of the returned z.
    x, y
        Pixel-centre coordinates of the columns (nx,) and rows (ny,), in the unit of the returned x, y.

    Returns
    -------
    vertices, triangles
        ``vertices[:, 0:3]`` = (x, y, depth) of every pixel used by a triangle; ``triangles`` index
        into ``vertices``.
    """
    depth = np.asarray(depth, dtype=float)
    ny, nx = depth.shape
    if np.shape(x) != (nx,) or np.shape(y) != (ny,):
        raise ValidationError(f"a {ny}×{nx} depth map needs {nx} x and {ny} y coordinates")
    ok = np.isfinite(depth)
    idx = np.arange(ny * nx).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]  # a b / c d
    oa, ob, oc, od = ok[:-1, :-1], ok[:-1, 1:], ok[1:, :-1], ok[1:, 1:]
    full = oa & ob & oc & od
    tris = [np.stack([a[full], c[full], b[full]], 1), np.stack([b[full], c[full], d[full]], 1)]
    for missing, corners in ((~od, (a, c, b)), (~oa, (b, c, d)), (~oc, (a, d, b)), (~ob, (a, c, d))):
        three = missing & (oa.astype(int) + ob + oc + od == 3)
        tris.append(np.stack([k[three] for k in corners], 1))
    t = np.concatenate(tris).astype(np.int64) if tris else np.empty((0, 3), np.int64)
    used = np.unique(t)
    remap = np.full(ny * nx, -1, np.int64)
    remap[used] = np.arange(used.size)
    yy, xx = np.meshgrid(np.asarray(y, float), np.asarray(x, float), indexing="ij")
    vertices = np.column_stack([xx.ravel()[used], yy.ravel()[used], depth.ravel()[used]])
    return vertices, remap[t]


def _normals(v: np.ndarray, t: np.ndarray) -> np.ndarray:
    n = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


def stl_bytes(vertices: np.ndarray, triangles: np.ndarray, header: str = "") -> bytes:
    """Binary STL of a triangle mesh (float32 coordinates; see the module docstring)."""
    rec = np.zeros(len(triangles), dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")]))
    rec["n"] = _normals(vertices, triangles)
    rec["v"] = vertices[triangles]
    head = header.encode("ascii", "replace")[:80].ljust(80, b" ")
    if head.startswith(b"solid"):  # an ASCII STL starts with 'solid': do not look like one
        head = b"mesh " + head[5:]
    return head + struct.pack("<I", len(triangles)) + rec.tobytes()


def vtk_bytes(vertices: np.ndarray, triangles: np.ndarray, title: str = "") -> bytes:
    """Legacy ASCII VTK POLYDATA of a triangle mesh (coordinates with 9 significant digits)."""
    title = " ".join(title.split())[:255] or "ionscope surface"
    lines = ["# vtk DataFile Version 3.0", title, "ASCII", "DATASET POLYDATA",
             f"POINTS {len(vertices)} double"]
    lines += [" ".join(f"{c:.9g}" for c in row) for row in vertices]
    lines.append(f"POLYGONS {len(triangles)} {4 * len(triangles)}")
    lines += [f"3 {i} {j} {k}" for i, j, k in triangles]
    return ("\n".join(lines) + "\n").encode("ascii")


def write_mesh(path: str | PathLike[str], vertices: np.ndarray, triangles: np.ndarray, *, title: str = "",
               force: bool = False) -> Path:
    """Write a triangle mesh as ``.vtk`` (legacy ASCII POLYDATA) or ``.stl`` (binary), atomically."""
    p = Path(path)
    fmt = MESH_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValidationError(f"a mesh file must end in .vtk or .stl, got {p.name!r}", p)
    if len(triangles) == 0:
        raise ValidationError("the surface has no triangle: fewer than three neighbouring pixels have a depth", p)
    data = vtk_bytes(vertices, triangles, title) if fmt == "vtk" else stl_bytes(vertices, triangles, title)
    return write_bytes(p, data, force=force)


def read_mesh(path: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """Vertices, triangles and title/header of a file :func:`write_mesh` wrote (STL vertices are not merged)."""
    p = Path(path)
    raw = p.read_bytes()
    if p.suffix.lower() == ".stl":
        if len(raw) < 84:
            raise FormatError("not a binary STL file (shorter than its 84-byte header)", p)
        (n,) = struct.unpack("<I", raw[80:84])
        if len(raw) != 84 + 50 * n:
            raise FormatError(f"binary STL declares {n} triangles but holds {len(raw) - 84} bytes of them", p)
        rec = np.frombuffer(raw, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")]),
                            offset=84)
        v = rec["v"].reshape(-1, 3).astype(float)
        return v, np.arange(v.shape[0]).reshape(-1, 3), raw[:80].decode("ascii", "replace").strip()
    lines = raw.decode("ascii").splitlines()
    if not lines or not lines[0].startswith("# vtk DataFile") or lines[3].strip() != "DATASET POLYDATA":
        raise FormatError("not a legacy VTK POLYDATA file", p)
    n = int(lines[4].split()[1])
    v = np.array([[float(c) for c in row.split()] for row in lines[5:5 + n]]).reshape(n, 3)
    m = int(lines[5 + n].split()[1])
    t = np.array([[int(c) for c in row.split()[1:]] for row in lines[6 + n:6 + n + m]], dtype=np.int64).reshape(m, 3)
    return v, t, lines[1]
