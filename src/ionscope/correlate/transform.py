"""The transform file of a correlative pair: JSON with the convention stated, both images identified.

The file holds the 3×3 matrix mapping MOVING physical coordinates (µm) to FIXED physical
coordinates (µm), ``[x_f, y_f, 1]ᵀ = M · [x_m, y_m, 1]ᵀ``, x along columns and y along rows
(downwards), at pixel centres as in the images' x/y coordinates (an image without an offset has
pixel ``(row i, col j)`` centred at ``((j + 0.5)·dx, (i + 0.5)·dy)``: the origin is the outer corner
of the first pixel). Each image is identified by its shape, pixel size, first-pixel centre and the
SHA-256 of its file, so a transform is not silently applied to another pair. A B-spline refinement
is stored beside it as an ITK transform file (SimpleITK's writer) referenced from the JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.correlate.grid import Grid
from ionscope.model.errors import FormatError, ValidationError

FORMAT = "ionscope.correlate.transform"
VERSION = 1
CONVENTION = ("maps MOVING physical coordinates (µm) to FIXED physical coordinates (µm): "
              "[x_f, y_f, 1]^T = matrix · [x_m, y_m, 1]^T; x along columns, y along rows (downwards); "
              "points are pixel centres as in the images' x/y coordinates, i.e. pixel (row i, col j) of an "
              "image without offset is centred at ((j+0.5)·dx, (i+0.5)·dy) and the origin is the outer "
              "corner of the first pixel")
CONVENTION_3D = ("maps MOVING physical coordinates (µm) to FIXED physical coordinates (µm): "
                 "[x_f, y_f, z_f, 1]^T = matrix · [x_m, y_m, z_m, 1]^T; x along columns, y along rows (downwards), "
                 "z along the slices of the FIB-SEM volume and along the scans (nominal depth) of the SIMS cube, "
                 "both into the sample; points are voxel centres as in the arrays' x/y/z (volume) and x/y/depth "
                 "(cube) coordinates; origin_um gives the first voxel centre (z, y, x)")
ITK_NOTE = ("ITK convention: the .tfm maps points of ITK's fixed image (here the MOVING, coarse image) "
            "to ITK's moving image (the FIXED, fine image), origin at the first pixel centre; use it to "
            "resample the fine image onto the coarse grid (elastix: transformix with the coarse image "
            "as fixed)")


class TransformMismatchError(ValidationError):
    """A transform file belongs to another pair of images."""


@dataclass
class ImageRecord:
    """How a transform file identifies one image."""

    grid: Any  # Grid (2-D) or correlate.volume.Grid3
    sha256: str | None
    path: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.grid.to_dict(), "sha256": self.sha256, "path": self.path}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageRecord:
        if "voxel_size_um" in d:
            from ionscope.correlate.volume import Grid3

            return cls(Grid3.from_dict(d), d.get("sha256"), d.get("path"))
        return cls(Grid.from_dict(d), d.get("sha256"), d.get("path"))


@dataclass
class CorrelativeTransform:
    """A registered pair: matrix (moving µm → fixed µm), the images, quality figures."""

    matrix: np.ndarray
    model: str
    fixed: ImageRecord
    moving: ImageRecord
    metric: float | None = None
    tre_um: float | None = None
    tre_method: str = ""
    nonlinear: Any = None  # SimpleITK composite transform (affine + B-spline) when refined
    nonlinear_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        """2 for an image pair, 3 for a volume pair."""
        return int(self.matrix.shape[0]) - 1

    def itk(self) -> Any:
        """The transform as a SimpleITK object (moving µm → fixed µm)."""
        from ionscope.correlate.register import affine_transform

        if self.ndim == 3:
            from ionscope.correlate.volume import itk_affine

            return itk_affine(self.matrix)
        return self.nonlinear if self.nonlinear is not None else affine_transform(self.matrix,
                                                                                   self.moving.grid.centre_xy)

    def map(self, xy: np.ndarray) -> np.ndarray:
        """(n, 2) moving points (x, y) µm in fixed µm ((n, 3) (x, y, z) for a volume pair)."""
        from ionscope.correlate.register import map_points

        if self.ndim == 3:
            from ionscope.correlate.volume import map_xyz

            return map_xyz(self.matrix, np.asarray(xy, float))
        return map_points(self.itk(), np.asarray(xy, float))

    def to_dict(self) -> dict[str, Any]:
        if self.ndim == 3:
            return {"format": FORMAT, "version": VERSION, "convention": CONVENTION_3D, "model": self.model,
                    "matrix": self.matrix.tolist(), "fixed": self.fixed.to_dict(), "moving": self.moving.to_dict(),
                    "nonlinear": None, "metric": {"name": "Mattes mutual information (nats)", "value": self.metric},
                    "tre_um": self.tre_um, "tre_method": self.tre_method, **self.extra}
        a = self.matrix[:2, :2]
        return {"format": FORMAT, "version": VERSION, "convention": CONVENTION, "model": self.model,
                "matrix": self.matrix.tolist(),
                "rotation_deg": float(np.degrees(np.arctan2(a[1, 0] - a[0, 1], a[0, 0] + a[1, 1]))),
                "scale": float(np.sqrt(abs(np.linalg.det(a)))),
                "fixed": self.fixed.to_dict(), "moving": self.moving.to_dict(),
                "nonlinear": None if self.nonlinear_file is None else {"itk_file": self.nonlinear_file,
                                                                       "note": ITK_NOTE},
                "metric": {"name": "Mattes mutual information (nats)", "value": self.metric},
                "tre_um": self.tre_um, "tre_method": self.tre_method, **self.extra}

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the JSON (and the B-spline part as ``<stem>.bspline.tfm`` beside it)."""
        import SimpleITK as sitk

        p = Path(path)
        if self.nonlinear is not None:
            tfm = p.with_name(p.stem + ".bspline.tfm")
            sitk.WriteTransform(self.nonlinear, str(tfm))
            self.nonlinear_file = tfm.name
        p.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return p

    def export_itk(self, path: str | PathLike[str]) -> Path:
        """Write the transform as an ITK transform file (``.tfm``/``.txt``/``.h5``) with SimpleITK."""
        import SimpleITK as sitk

        sitk.WriteTransform(self.itk(), str(path))
        return Path(path)


def load_transform(path: str | PathLike[str]) -> CorrelativeTransform:
    """Read a transform file written by :meth:`CorrelativeTransform.save`."""
    import SimpleITK as sitk

    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not a readable transform file: {exc}", p) from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise FormatError(f"not an ionscope correlative transform (no \"format\": \"{FORMAT}\")", p)
    try:
        m = np.asarray(d["matrix"], float)
        fixed, moving = ImageRecord.from_dict(d["fixed"]), ImageRecord.from_dict(d["moving"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"transform file lacks or garbles {exc}", p) from None
    n = 4 if d.get("ndim") == 3 else 3
    if m.shape != (n, n) or not np.all(np.isfinite(m)) or abs(np.linalg.det(m[:n - 1, :n - 1])) < 1e-12:
        raise FormatError(f"the transform matrix is not a finite, invertible {n}×{n} matrix", p)
    if not ((n == 4) == ("voxel_size_um" in d["fixed"]) == ("voxel_size_um" in d["moving"])):
        raise FormatError("the transform's matrix and image records disagree about 2-D or 3-D", p)
    nonlinear, nl_file = None, None
    if d.get("nonlinear"):
        nl_file = d["nonlinear"].get("itk_file")
        tfm = p.with_name(str(nl_file))
        if not tfm.is_file():
            raise FormatError(f"the B-spline part {tfm.name} referenced by the transform is missing", p)
        nonlinear = sitk.ReadTransform(str(tfm))
        nonlinear = sitk.CompositeTransform(nonlinear) if not isinstance(nonlinear, sitk.CompositeTransform) \
            else nonlinear
    known = {"format", "version", "convention", "model", "matrix", "fixed", "moving", "nonlinear", "metric",
             "tre_um", "tre_method", "rotation_deg", "scale"}
    return CorrelativeTransform(m, str(d.get("model", "affine")), fixed, moving,
                                (d.get("metric") or {}).get("value"), d.get("tre_um"), str(d.get("tre_method", "")),
                                nonlinear, nl_file, {k: v for k, v in d.items() if k not in known})


def check_image(record: ImageRecord, which: str, shape: tuple[int, ...], sha256: str | None, path: Any,
                force: bool) -> None:
    """Refuse an image that is not the one the transform was made for (shape, then SHA-256).

    ``force`` accepts a file with another hash (the same image re-exported), never another shape.
    """
    if tuple(shape) != tuple(record.grid.shape):
        raise TransformMismatchError(f"the transform was made for a {which} image of shape "
                                     f"{tuple(record.grid.shape)}, this one is {tuple(shape)}: it belongs to "
                                     "another pair", path)
    if not force and record.sha256 and sha256 and sha256 != record.sha256:
        raise TransformMismatchError(f"the transform was made for another {which} image (SHA-256 "
                                     f"{record.sha256[:12]}…, this file {sha256[:12]}…); give --force-pair to "
                                     "apply it anyway", path)
