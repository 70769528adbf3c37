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

    Raises
    ------
    ValidationError
        The variable is unknown or ambiguous, ``dims`` has the wrong length, or the array lacks ``need``;
        the message names the file, the candidates and the option to give.
    """
    arr = _pick(data, path, need=need, variable=variable)
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
