"""Pick one array out of what a reader returned: a Dataset's data variable, with named dimensions.

Readers of generic containers (``.npz``, Zarr groups, NetCDF/HDF5) return an :class:`xarray.Dataset`
whose arrays may carry placeholder dimension names (``counts_pixels_by_mz_0`` for a ``.npz`` member, see
:mod:`ionscope.io.numpy_array`). An analysis that needs one array with given dimensions (e.g. a
``peak`` axis for multivariate analysis) calls :func:`select_array` to choose the variable and name its
dimensions, with errors that name the file and say which option to give.
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
    if not dims and need not in arr.dims:
        image = flat_image(data, arr, need)
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
            f"name per dimension in order, {need!r} for the channel axis (e.g. --dims {','.join([*others, need])})",
            path)
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
    anything else returns None and the caller asks for ``--dims``. The ``need`` axis gets the masses as
    its ``mz`` coordinate (m/z, Th) and labels written from them, so components and loadings are named by
    channel. A square image stored without orientation is read in row order; whether rows are y or x
    (a transpose) cannot be told from the file.

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
    if not isinstance(data, xr.Dataset) or arr.ndim != 2:
        return None
    masses = _one_d(data, _MASS_NAMES, float)
    if masses is None or masses.size not in arr.shape:
        return None
    channel = arr.shape.index(masses.size) if arr.shape[0] != arr.shape[1] else 1
    n_pixels = arr.shape[1 - channel]
    rows_cols = _image_size(data, n_pixels)
    if rows_cols is None:
        return None
    pixels_dim, channel_dim = arr.dims[1 - channel], arr.dims[channel]
    values = arr.transpose(pixels_dim, channel_dim).data.reshape(*rows_cols, masses.size)
    out = xr.DataArray(values, dims=("y", "x", need), name=arr.name, attrs=dict(arr.attrs))
    return out.assign_coords({need: mass_labels(masses), "mz": (need, masses, {"units": "Th"})})


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
