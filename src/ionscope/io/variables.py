"""Pick one array out of what a reader returned: a Dataset's data variable, with named dimensions.

Readers of generic containers (``.npz``, Zarr groups, NetCDF/HDF5) return an :class:`xarray.Dataset`
whose arrays may carry placeholder dimension names (``counts_pixels_by_mz_0`` for a ``.npz`` member, see
:mod:`ionscope.io.numpy_array`). An analysis that needs one array with given dimensions (e.g. a
``peak`` axis for multivariate analysis) calls :func:`select_array` to choose the variable and name its
dimensions, with errors that name the file and say which option to give. A flat pixels × channels matrix
stored with its channel masses and image size (a converted TRIFT / ION-TOF image) is recognised and
reshaped here, once, for every caller: :func:`flat_image` for the analyses (which fall back on
``--dims``), :func:`flat_image_cube` for the viewer (a ``hyperspectral`` cube, or an error saying which
size does not fit).
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import xarray as xr

from ionscope.model.errors import ValidationError


def select_array(data: xr.DataArray | xr.Dataset, path: str | PathLike[str] | None, *, need: str,
                 variable: str | None = None, dims: Sequence[str] | None = None) -> xr.DataArray:
    """One array of ``data`` holding the dimension ``need``.

    Parameters
    ----------
    data
        What :func:`ionscope.read` returned.
    path
        The file it came from (named in errors).
    need
        The dimension the caller needs (e.g. ``"peak"``).
    variable
        Name of the data variable of a Dataset (``--variable``); without it, the only variable holding
        ``need`` — or, when no variable has named dimensions, the only variable with at least two
        dimensions — is taken.
    dims
        New names of the array's dimensions, in order (``--dims``), e.g. ``("pixel", "peak")`` for a
        pixels × channels matrix stored without dimension names. A 1-D variable of the Dataset that is as
        long as the renamed ``need`` axis and named ``mz`` becomes its ``mz`` coordinate (m/z, Th).
        Without it, a flat pixels × channels matrix stored with its channel masses and image shape (a
        TRIFT/ION-TOF export converted to ``.npz``) is recognised and reshaped (:func:`flat_image`).

    Raises
    ------
    ValidationError
        The variable is unknown or ambiguous, ``dims`` has the wrong length, or the array lacks ``need``;
        the message names the file, the candidates and the option to give.
    """
    arr = _pick(data, path, need=need, variable=variable)
    misfit = ""
    if not dims and need not in arr.dims:
        image = flat_image(data, arr, need)
        layout = flat_layout(data, arr) if image is None else None
        misfit = f"; read as a flat pixels × channels image, {layout}" if isinstance(layout, str) else ""
        arr = arr if image is None else image
    if dims:
        names = [d.strip() for d in dims]
        if len(names) != arr.ndim or len(set(names)) != len(names):
            raise ValidationError(f"--dims needs {arr.ndim} distinct names for {arr.name!r} "
                                  f"(dims {tuple(arr.dims)}, shape {arr.shape}); got {','.join(names)}", path)
        arr = arr.rename(dict(zip(arr.dims, names)))
        mz = data.get("mz") if isinstance(data, xr.Dataset) else None
        if need in arr.dims and mz is not None and mz.ndim == 1 and mz.size == arr.sizes[need]:
            arr = arr.assign_coords(mz=(need, mz.values, {"units": "Th"}))
    if need not in arr.dims:
        shape = " × ".join(f"{d}={n}" for d, n in arr.sizes.items())
        others = ["pixel"] if arr.ndim == 2 else [f"d{i}" for i in range(arr.ndim - 1)]
        raise ValidationError(
            f"{arr.name!r} has no {need!r} dimension (its dims: {shape}); name them with --dims, one "
            f"name per dimension in order, {need!r} for the channel axis (e.g. --dims {','.join([*others, need])})"
            f"{misfit}", path)
    return arr


def _pick(data: xr.DataArray | xr.Dataset, path, *, need: str, variable: str | None) -> xr.DataArray:
    if isinstance(data, xr.DataArray):
        if variable is not None and variable != data.name:
            raise ValidationError(f"holds one array ({data.name!r}); --variable {variable!r} is not it", path)
        return data
    if not isinstance(data, xr.Dataset):
        raise ValidationError(f"holds a {type(data).__name__}, not an array", path)
    names = [str(n) for n in data.data_vars]
    listing = ", ".join(f"{n} {tuple(data[n].dims)}" for n in names)
    if variable is not None:
        if variable not in data.data_vars:
            raise ValidationError(f"has no variable {variable!r}; its variables: {listing}", path)
        return data[variable]
    with_need = [n for n in names if need in data[n].dims]
    if len(with_need) == 1:
        return data[with_need[0]]
    multi = [n for n in names if data[n].ndim >= 2]
    if not with_need and len(multi) == 1:
        return data[multi[0]]
    raise ValidationError(f"holds {len(names)} variables ({listing}): choose one with --variable NAME", path)


#: Names under which converted exports store the channel masses of a pixels × channels matrix.
_MASS_NAMES = ("mz", "masses", "mass", "channel_mz", "channel_masses")
#: Names of an image shape stored as (x size, y size) (TRIFT ``xy``) and as (rows, columns) (NumPy order).
_XY_NAMES = ("xy", "image_xy")
_SHAPE_NAMES = ("shape", "image_shape", "yx")


def flat_image(data: xr.DataArray | xr.Dataset, arr: xr.DataArray, need: str = "peak") -> xr.DataArray | None:
    """A flat pixels × channels matrix of ``data`` as a (``y``, ``x``, ``need``) image, or None.

    Converted TRIFT / ION-TOF images store counts as one row per pixel and one column per mass channel,
    with the channel masses (``mz``, 1-D, one per column) and the image size beside them: ``xy`` =
    (x size, y size) with pixels in row order (x fastest), or ``shape``/``image_shape`` = (rows,
    columns). Both must match the matrix exactly (channels = masses, pixels = product of the size);
    anything else returns None and the caller asks for ``--dims`` (:func:`flat_layout` says what did not
    match). The ``need`` axis gets the masses as its ``mz`` coordinate (m/z, Th) and labels written from
    them, so components and loadings are named by channel. A square image stored without orientation is
    read in row order; whether rows are y or x (a transpose) cannot be told from the file.

    Parameters
    ----------
    data
        What the reader returned (a Dataset of the file's arrays).
    arr
        The chosen 2-D array of ``data``.
    need
        Name given to the channel axis.

    Returns
    -------
    xarray.DataArray or None
        Dims (``y``, ``x``, ``need``), coordinate ``mz`` on ``need``; None when the file is not laid out so.
    """
    layout = flat_layout(data, arr)
    if not isinstance(layout, FlatLayout):
        return None
    values, masses = layout.cube(arr)
    out = xr.DataArray(values, dims=("y", "x", need), name=arr.name, attrs=dict(arr.attrs))
    return out.assign_coords({need: mass_labels(masses), "mz": (need, masses, {"units": "Th"})})


def flat_image_cube(data: Any, path: str | PathLike[str] | None) -> xr.DataArray | None:
    """A converted TRIFT / ION-TOF ``.npz`` image as a ``hyperspectral`` (y, x, mz) count cube, or None.

    The strict form of :func:`flat_image`, for callers that have no ``--dims`` to fall back on (the
    viewer): a Dataset that names channel masses (``mz``) and an image size (``xy`` or ``shape``) beside
    a 2-D matrix *is* a flat image, and when the sizes do not fit the error says which. The channel axis
    is sorted by m/z; the pixels have no physical size (the export stores none), so ``y`` and ``x`` have
    no coordinate.

    Parameters
    ----------
    data
        What :func:`ionscope.read` returned.
    path
        The file it came from (named in errors).

    Returns
    -------
    xarray.DataArray or None
        ``hyperspectral`` counts (y, x, mz) with ``mz`` in m/z; None when ``data`` does not name channel
        masses and an image size (not this layout).

    Raises
    ------
    ValidationError
        The file names masses and an image size but its matrix does not fit them (channel count, pixel
        count, or no single 2-D matrix); the message names the file and the sizes.
    """
    from ionscope.model.arrays import coord, labelled

    if not isinstance(data, xr.Dataset):
        return None
    found = _named(data, _MASS_NAMES), _named(data, _XY_NAMES + _SHAPE_NAMES)
    if found[0] is None or found[1] is None:
        return None
    arr = _matrix(data, path, found[0])
    layout = flat_layout(data, arr)
    if not isinstance(layout, FlatLayout):
        raise ValidationError(f"is laid out as a flat pixels × channels image ({found[0]!r} masses, "
                              f"{found[1]!r} image size) but {layout}", path)
    values, masses = layout.cube(arr)
    order = np.argsort(masses, kind="stable")
    if np.any(np.diff(order) != 1):
        values, masses = values[..., order], masses[order]
    attrs = {"source_file": data.attrs.get("source_file"), "variable": str(arr.name),
             "pixel_size_source": "unknown: the file stores no pixel size"}
    return labelled(values, "hyperspectral", coords={"mz": coord("mz", masses, "m/z")}, name=str(arr.name),
                    units=str(arr.attrs.get("units", "counts")), attrs={k: v for k, v in attrs.items() if v})


class FlatLayout:
    """How a pixels × channels matrix forms an image: which axis holds the channels, the image size, masses."""

    def __init__(self, channel: int, rows_cols: tuple[int, int], masses: np.ndarray) -> None:
        self.channel, self.rows_cols, self.masses = channel, rows_cols, masses

    def cube(self, arr: xr.DataArray) -> tuple[Any, np.ndarray]:
        """(rows, columns, channels) values of ``arr`` (a view where the matrix is pixel-major) and masses."""
        pixels_dim, channel_dim = arr.dims[1 - self.channel], arr.dims[self.channel]
        values = arr.transpose(pixels_dim, channel_dim).data.reshape(*self.rows_cols, self.masses.size)
        return values, self.masses


def flat_layout(data: xr.DataArray | xr.Dataset, arr: xr.DataArray) -> FlatLayout | str | None:
    """How ``arr`` forms a flat image with the masses and image size stored beside it in ``data``.

    Returns
    -------
    FlatLayout, str or None
        The layout when masses and size fit ``arr``; a sentence saying what does not fit when ``data``
        names masses and an image size that do not fit; None when it names no masses or no size.
    """
    if not isinstance(data, xr.Dataset):
        return None
    mass_name, size_name = _named(data, _MASS_NAMES), _named(data, _XY_NAMES + _SHAPE_NAMES)
    if mass_name is None or size_name is None:
        return None
    if arr.ndim != 2:
        return f"{arr.name!r} has {arr.ndim} dimensions, not pixels × channels"
    masses = _one_d(data, _MASS_NAMES, float)
    if masses is None:
        return f"{mass_name!r} is not a 1-D array of finite m/z values (one per channel)"
    if masses.size not in arr.shape:
        return (f"{mass_name!r} holds {masses.size} channel masses while {arr.name!r} is "
                f"{arr.shape[0]} × {arr.shape[1]}: neither axis has {masses.size} channels")
    channel = arr.shape.index(masses.size) if arr.shape[0] != arr.shape[1] else 1
    n_pixels = arr.shape[1 - channel]
    rows_cols = _image_size(data, n_pixels)
    if rows_cols is None:
        size = np.asarray(data[size_name].values).ravel()
        shown = str(tuple(size.tolist())) if size.size <= 4 else f"{size.size} values"
        return (f"{size_name!r} = {shown} is not two positive integers whose product is the "
                f"{n_pixels} pixel rows of {arr.name!r}")
    return FlatLayout(channel, rows_cols, masses)


def _named(data: xr.Dataset, names: Sequence[str]) -> str | None:
    """The first of ``names`` that ``data`` holds."""
    return next((n for n in names if n in data.variables), None)


def _matrix(data: xr.Dataset, path: str | PathLike[str] | None, mass_name: str) -> xr.DataArray:
    """The one 2-D numeric variable of a flat image; with several, the one with as many channels as masses."""
    mats = [data[n] for n in data.data_vars if data[n].ndim == 2 and data[n].dtype.kind in "fiub"]
    if len(mats) > 1:
        n = data[mass_name].size
        mats = [m for m in mats if n in m.shape] or mats
    if len(mats) != 1:
        listing = ", ".join(f"{n} {data[n].shape}" for n in data.data_vars)
        raise ValidationError(f"names channel masses ({mass_name!r}) and an image size but holds "
                              f"{'no' if not mats else len(mats)} pixels × channels matrices ({listing})", path)
    return mats[0]


def _one_d(data: xr.Dataset, names: Sequence[str], kind: type) -> Any:
    for name in names:
        if name in data.variables and data[name].ndim == 1:
            values = np.asarray(data[name].values)
            if kind is float and np.issubdtype(values.dtype, np.number) and np.all(np.isfinite(values)):
                return values.astype(float)
            if kind is int and np.issubdtype(values.dtype, np.integer):
                return values.astype(int)
    return None


def _image_size(data: xr.Dataset, n_pixels: int) -> tuple[int, int] | None:
    """(rows, columns) of the image whose pixels are the rows of the matrix, from ``xy`` or ``shape``."""
    for names, flip in ((_XY_NAMES, True), (_SHAPE_NAMES, False)):
        size = _one_d(data, names, int)
        if size is not None and size.size == 2 and np.all(size > 0) and int(np.prod(size)) == n_pixels:
            return (int(size[1]), int(size[0])) if flip else (int(size[0]), int(size[1]))
    return None


def mass_labels(masses: np.ndarray) -> np.ndarray:
    """Peak labels from channel masses: the fewest decimals (2 to 6) that keep every label distinct."""
    for decimals in range(2, 7):
        labels = np.array([f"{m:.{decimals}f}" for m in masses])
        if len(set(labels.tolist())) == labels.size:
            return labels
    return np.array([f"{m:.6f}#{i}" for i, m in enumerate(masses)])
