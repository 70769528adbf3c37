"""``ionscope micro generate`` as library calls: check and load the request, then generate, compare, write.

:func:`generation_request` checks what is asked — one 2-D label image (or a few sections of one), or
three orthogonal sections of an anisotropic material; the volume shape; the method and its options;
the output — and loads the images (a grey image is segmented by multi-Otsu thresholding, Otsu 1979,
IEEE Trans. Syst. Man Cybern. 9, 62, doi:10.1109/TSMC.1979.4310076). :func:`generate_from_sections`
generates the volume (:func:`ionscope.micro.generate.generate` or
:func:`~ionscope.micro.generate.generate_anisotropic`), measures the same statistics on the image(s)
and on the volume (:func:`~ionscope.micro.generate.section_statistics`), writes the label volume and
returns the ``micro.generate`` :class:`~ionscope.model.result.Result`.

>>> request = generation_request("volume.zarr", "section.tif", size=64, spacing="0.39um")  # doctest: +SKIP
>>> result = generate_from_sections(request)                                            # doctest: +SKIP
>>> result.generated["pore"]["volume_fraction"]                                         # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.result import Quantity, Result
from ionscope.model.stages import Stage, silent_stage

#: The planes of an anisotropic request, in the order they are named in messages.
PLANES = ("xy", "xz", "yz")
#: Output formats of the label volume.
OUTPUT_SUFFIXES = (".zarr", ".tif", ".tiff")
#: Most voxels of a generated volume (1024³, 1 GiB as uint8 labels).
MAX_VOXELS = 1024**3
#: Smallest edge (voxels) of a generated volume.
MIN_EDGE = 8
#: Most slices an IMAGE may have (a few 2-D sections of one material, pooled).
MAX_IMAGE_SLICES = 16
#: Most grey levels an integer image may have and still be taken as labels (more: segmented first).
MAX_LABEL_VALUES = 16


@dataclass(frozen=True)
class GenerationRequest:
    """A checked ``micro generate`` request, its images loaded.

    Attributes
    ----------
    out
        The label volume to write (``.zarr``, ``.tif`` or ``.tiff``).
    force
        Replace an existing ``out``.
    sources
        ``{"image": path}``, or ``{"xy": …, "xz": …, "yz": …}`` for three orthogonal sections.
    sections
        The label image(s) read from ``sources``, by the same keys.
    pixel_um
        Pixel size of the images, µm.
    phases
        Phase name → label value.
    shape
        Shape (z, y, x) of the volume, voxels.
    method, device, iterations, sweeps, range_px, seed
        The generation options (:func:`ionscope.micro.generate.generate`).
    """

    out: Path
    force: bool
    sources: Mapping[str, Path]
    sections: Mapping[str, np.ndarray]
    pixel_um: float
    phases: Mapping[str, int]
    shape: tuple[int, int, int]
    method: str = "grf"
    device: str = "cpu"
    iterations: int = 300
    sweeps: float = 2.0
    range_px: int | None = None
    seed: int = 0

    @property
    def anisotropic(self) -> bool:
        """Whether the input is three orthogonal sections (not one image)."""
        return "image" not in self.sources


def generation_request(out: str | PathLike[str], image: str | PathLike[str] | None = None, *,
                       sections: Mapping[str, str | PathLike[str]] | None = None, size: int | None = None,
                       shape: str | None = None, method: str = "grf", spacing: str | None = None,
                       grey_phases: int = 2, phases: str | None = None, device: str = "cpu", iterations: int = 300,
                       sweeps: float = 2.0, range_px: int | None = None, seed: int = 0,
                       force: bool = False) -> GenerationRequest:
    """Check a ``micro generate`` request and load its images.

    Parameters
    ----------
    out
        Label volume to write: ``.zarr``, ``.tif`` or ``.tiff``; refused if it exists, unless ``force``.
    image
        A segmented 2-D label image, or a stack of up to 16 sections of one material (TIFF, ``.zarr``);
        a grey image (floating point, or more than 16 values) is segmented into ``grey_phases`` phases.
    sections
        Instead of ``image``: three orthogonal sections ``{"xy": …, "xz": …, "yz": …}`` (rows y and
        columns x; rows z, columns x; rows z, columns y) of an anisotropic material.
    size, shape
        The volume: a cube of edge ``size`` voxels, or ``shape`` ``"Z,Y,X"``; one of the two.
    method
        ``grf``, ``anneal`` or ``slicegan`` (:func:`ionscope.micro.generate.generate`); sections take
        ``grf`` or ``anneal``.
    spacing
        Pixel size with its unit (``"0.39um"``); default: as recorded in the file(s).
    phases
        ``NAME=VALUE`` list; default every label value, named ``phase<value>``.
    device, iterations, sweeps, range_px, seed
        ``slicegan``'s device and generator steps, ``anneal``'s swaps per voxel, the two-point range
        (pixels; default half the image) and the random seed.

    Raises
    ------
    ValidationError
        On a bad shape, output name, option or image (its path named), in that order.
    OutputExistsError
        If ``out`` exists and not ``force``.
    """
    from ionscope.io.atomic import check_writable

    dims = _volume_shape(size, shape)
    target = check_writable(out, force)
    if target.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValidationError(f"output must end in .zarr, .tif or .tiff, got {target.name}")
    planes = {k: Path(p) for k, p in (sections or {}).items()}
    sources, loaded, pixel_um = _load_inputs(None if image is None else Path(image), planes, method, spacing,
                                             grey_phases)
    values = _phase_values(phases, sources, loaded)
    if iterations < 1:
        raise ValidationError(f"--iterations must be at least 1, got {iterations}")
    if sweeps <= 0:
        raise ValidationError(f"--sweeps must be positive, got {sweeps}")
    return GenerationRequest(target, force, sources, loaded, pixel_um, values, dims, method, device, iterations,
                             sweeps, range_px, seed)


def _volume_shape(size: int | None, shape: str | None) -> tuple[int, int, int]:
    """The (z, y, x) shape of a cube of edge ``size`` or of ``shape`` ``"Z,Y,X"`` (one of the two), checked
    against :data:`MIN_EDGE` and :data:`MAX_VOXELS`."""
    if size is not None and shape is None:
        dims = (size, size, size)
    elif shape is not None and size is None:
        try:
            edges = [int(v) for v in shape.split(",")]
        except ValueError as exc:
            raise ValidationError(f"--shape must be Z,Y,X whole numbers, got {shape!r}") from exc
        if len(edges) != 3:
            raise ValidationError(f"--shape must be Z,Y,X, got {shape!r}")
        dims = (edges[0], edges[1], edges[2])
    else:
        raise ValidationError("give either --size N (cube edge) or --shape Z,Y,X")
    if min(dims) < MIN_EDGE or math.prod(dims) > MAX_VOXELS:
        raise ValidationError(f"the volume {dims} must have every edge ≥ 8 voxels and at most 1024³ voxels")
    return dims


def _load_inputs(image: Path | None, planes: dict[str, Path], method: str, spacing: str | None,
                 grey_phases: int) -> tuple[dict[str, Path], dict[str, np.ndarray], float]:
    """The sources by key, their label images and their one pixel size (µm)."""
    if planes and image is not None:
        raise ValidationError("give either IMAGE or the sections --xy/--xz/--yz, not both")
    if planes and len(planes) < 3:
        raise ValidationError("anisotropic input needs all three sections --xy, --xz and --yz (missing "
                              + ", ".join(f"--{k}" for k in PLANES if k not in planes) + ")")
    if planes and method not in ("grf", "anneal"):
        raise ValidationError(f"--xy/--xz/--yz work with --method grf or anneal, got {method!r}")
    if image is not None:
        sources = {"image": image}
    elif planes:
        sources = planes
    else:
        raise ValidationError("give a 2-D label image, or three sections with --xy, --xz and --yz")
    max_slices = 1 if planes else MAX_IMAGE_SLICES
    read = {k: _label_image(p, spacing, grey_phases, max_slices) for k, p in sources.items()}
    sizes = {k: v[1] for k, v in read.items()}
    if planes and max(sizes.values()) > 1.01 * min(sizes.values()):
        raise ValidationError("the sections record different pixel sizes ("
                              + ", ".join(f"--{k} {v:g} µm" for k, v in sizes.items())
                              + "): resample them to one size, or give --spacing to state it")
    return sources, {k: v[0] for k, v in read.items()}, next(iter(sizes.values()))


def _phase_values(phases: str | None, sources: Mapping[str, Path], loaded: Mapping[str, np.ndarray]
                  ) -> dict[str, int]:
    """Phase name → label value: as given (each must occur in every image), or every value of the first image."""
    from ionscope.micro.phases import parse_phases

    first = next(iter(loaded.values()))
    values = parse_phases(phases) if phases is not None else {f"phase{int(v)}": int(v) for v in np.unique(first)}
    for k, a in loaded.items():
        absent = [n for n, v in values.items() if not (a == v).any()]
        if absent:
            raise ValidationError(f"phase {', '.join(absent)} does not occur in the image", path=sources[k])
    return values


def _open(path: Path) -> Any:
    """The image or stack at ``path`` as a labelled array (``.zarr`` store or TIFF stack/folder)."""
    if path.suffix == ".zarr":
        from ionscope.io.zarr_store import load_array

        return load_array(path, "label image")
    from ionscope.io.tiff_stack import read_stack

    return read_stack(path)


def _label_image(path: Path, spacing: str | None, grey_phases: int, max_slices: int) -> tuple[np.ndarray, float]:
    """A label image and its pixel size (µm): a grey image segmented by multi-Otsu thresholding."""
    from ionscope.micro.phases import parse_length_um

    src = _open(path)
    arr = np.asarray(src.values)
    if arr.ndim == 3 and arr.shape[0] == 1 and max_slices == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[0] > max_slices:
        what = "one 2-D image" if max_slices == 1 else "a 2-D image or a few 2-D sections"
        raise ValidationError(f"{path.name} has {arr.shape[0]} slices: give {what}", path=path)
    sp: Any = parse_length_um(spacing) if spacing is not None else \
        (src.attrs.get("spacing_um") or [None] * 3)[-1]  # a length, or (z, y, x) lengths: the last is x
    if sp is None and "x" in src.dims and not str(src.attrs.get("pixel_size_source", "unknown")).startswith("unknown"):
        from ionscope.model.arrays import spacing_of

        sp = spacing_of(src, ("x",))[0]  # recorded in the file (e.g. TIFF resolution tags)
    if sp is None:
        raise ValidationError(f"{path.name} records no pixel size: give --spacing, e.g. 0.39um", path=path)
    pixel_um = float(np.ravel(sp)[-1])
    if np.issubdtype(arr.dtype, np.floating) or len(np.unique(arr)) > MAX_LABEL_VALUES:
        from skimage.filters import threshold_multiotsu

        arr = np.digitize(arr, threshold_multiotsu(arr, classes=grey_phases)).astype(np.uint8)
    return arr, pixel_um


def generate_from_sections(request: GenerationRequest, *, stage: Stage | None = None,
                           compute: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None) -> Result:
    """Generate the volume of ``request``, compare its statistics with the image's, write it.

    Parameters
    ----------
    request
        From :func:`generation_request`.
    stage
        Progress of the generation and of the statistics (:mod:`ionscope.model.stages`); silent by default.
    compute
        ``compute(name)``: a context manager around the (Dask) writing of the volume; none by default.

    Returns
    -------
    Result
        ``kind="micro.generate"``: ``output``, ``method``, ``shape``, ``spacing``, ``phase_order``, the
        statistics of the ``image`` and of the ``generated`` volume per phase (volume fraction,
        specific surface area, mean chord length and two-point function by axis) and their
        ``difference``, the ``time`` taken and, for sections, ``stretch_zyx``; warnings about a box
        too small for the structure or an assumed isotropy. The provenance is the written volume's.
    """
    from ionscope.io import write
    from ionscope.micro.generate import compare_statistics
    from ionscope.micro.phases import label_volume
    from ionscope.model.provenance import make_provenance

    stage = stage or silent_stage
    vol, info = _generate(request, stage)
    r = info["two_point_range_px"]
    with stage("statistics of the image and the volume", None):
        ref, gen, rep = _statistics(request, vol, min(r, 32))
    diff = compare_statistics(ref, gen)
    ph, planes = request.phases, request.anisotropic
    lab = label_volume(vol, ph, request.pixel_um, provenance=make_provenance(
        "ionscope.micro.generate", inputs=list(request.sources.values()), parameters={
            "method": request.method, "shape": list(request.shape), "seed": request.seed, "two_point_range_px": r,
            "order": info["order"], "couplings": info.get("couplings", []),
            **({"stretch_zyx": info["stretch_zyx"]} if planes else {}),
            **({"slicegan": info["parameters"]} if request.method == "slicegan" else {})}))
    with compute(f"writing {request.out.name}") if compute is not None else contextlib.nullcontext():
        path = write(lab, request.out, force=request.force)
    values = _values(request, path, info, ref, gen, rep, diff)
    warnings = list(info["warnings"])
    first = next(iter(request.sections.values()))
    if not planes and (first.ndim == 2 or first.shape[0] == 1):
        warnings.append("an isotropic structure is assumed: the 2-D section stands for every direction")
    return Result("micro.generate", values, tuple(warnings), lab.attrs["provenance"])


def _generate(request: GenerationRequest, stage: Stage) -> tuple[np.ndarray, dict[str, Any]]:
    """The volume and the generator's record (order, couplings, range, time, warnings, …)."""
    from ionscope.micro.generate import generate, generate_anisotropic

    method = request.method
    total = {"slicegan": request.iterations, "anneal": 10}.get(method)
    with stage(f"generating ({method})", total) as task:
        def report(done: int, total: int, loss: float) -> None:
            what = "iteration" if method == "slicegan" else "annealing stage"
            name = "Wasserstein estimate" if method == "slicegan" else "energy"
            task.update(description=f"{what} {done}/{total}, {name} {loss:.3g}")
            task.advance()

        if request.anisotropic:
            return generate_anisotropic(dict(request.sections), request.phases, request.shape,
                                        r_max=request.range_px, seed=request.seed, paths=request.sources,
                                        method=method, sweeps=request.sweeps, progress=report)
        return generate(request.sections["image"], request.phases, request.shape, method=method,
                        r_max=request.range_px, seed=request.seed, path=request.sources["image"],
                        device=request.device, iterations=request.iterations, sweeps=request.sweeps,
                        progress=report)


def _statistics(request: GenerationRequest, vol: np.ndarray, r_max: int
                ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Statistics of the image(s) and of the volume, and the images' representativity uncertainty."""
    from ionscope.micro.generate import (
        anisotropic_section_statistics,
        section_representativity,
        section_statistics,
    )

    ph, sp = request.phases, request.pixel_um
    if request.anisotropic:
        ref = anisotropic_section_statistics(dict(request.sections), ph, sp, r_max=r_max)
        rep = section_representativity(list(request.sections.values()), ph)
    else:
        arr = request.sections["image"]
        ref = section_statistics(arr if arr.ndim == 3 else arr[None], ph, sp, axes=(1, 2), r_max=r_max)
        rep = section_representativity(arr, ph)
    gen = section_statistics(vol, ph, sp, axes=(0, 1, 2), r_max=r_max)
    return ref, gen, rep


#: Why the generated volume's statistics carry no uncertainty.
WHY_GENERATED = "one realisation; generate with other seeds for the spread between realisations"
#: Why the image's statistics carry none when the representativity could not be estimated.
WHY_IMAGE = ("measured on the image as given; its representativity uncertainty could not be estimated "
             "(image too small for eight sub-squares)")


def _exact(v: float, unit: str, why: str) -> Quantity:
    return Quantity(float(v), None, unit, why_no_uncertainty=why)


def _block(st: Mapping[str, Any], why: str, rep: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The statistics of each phase as quantities; the image's with its representativity uncertainty."""
    def unc(k: str, key: str, value: float, unit: str, rel: bool) -> Quantity:
        u = (rep or {}).get(k, {}).get(key, float("nan"))
        if not math.isfinite(u):
            return _exact(value, unit, why)
        return Quantity(float(value), float(u * value if rel else u), unit)

    return {k: {"volume_fraction": unc(k, "fraction_uncertainty", e["volume_fraction"], "1", False),
                "specific_surface_area": unc(k, "boundary_relative_uncertainty",
                                             e["specific_surface_area_per_um"], "µm^-1", True),
                "mean_chord_length": {a: _exact(c, "µm", why) for a, c in e["mean_chord_length_um"].items()},
                "two_point": {a: Quantity(v, None, "1", why_no_uncertainty=why) for a, v in e["two_point"].items()}}
            for k, e in st.items()}


def _values(request: GenerationRequest, path: Path, info: Mapping[str, Any], ref: Mapping[str, Any],
            gen: Mapping[str, Any], rep: Mapping[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    values = {"output": str(path), "method": request.method, "shape": list(request.shape),
              "spacing": _exact(request.pixel_um, "µm", "the pixel size as given or recorded in the file"),
              "phase_order": info["order"], "image": _block(ref, WHY_IMAGE, rep),
              "generated": _block(gen, WHY_GENERATED),
              "difference": {k: {m: _exact(v, "1", WHY_GENERATED) for m, v in d.items()} for k, d in diff.items()},
              "time": _exact(info["seconds"], "s", "one wall-clock measurement")}
    if request.anisotropic:
        values["stretch_zyx"] = info["stretch_zyx"]
    return values
