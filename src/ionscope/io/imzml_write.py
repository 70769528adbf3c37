"""imzML writer, continuous and processed (imzML 1.1, uncompressed, external ``.ibd``).

The ``.ibd`` is streamed spectrum by spectrum (UUID first, SHA-1 computed on the way), then the
XML is written with every spectrum's offsets; both files go through :mod:`ionscope.io.atomic`.
Files open in pyimzML with identical spectra (tested).
"""

from __future__ import annotations

import hashlib
import uuid as uuidlib
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import xarray as xr

from ionscope.io.atomic import atomic_path, check_writable
from ionscope.model.errors import ValidationError

_DTYPE_ACC = {np.dtype("<f4"): ("MS:1000521", "32-bit float"), np.dtype("<f8"): ("MS:1000523", "64-bit float"),
              np.dtype("<i4"): ("IMS:1000141", "32-bit integer"), np.dtype("<i8"): ("IMS:1000142", "64-bit integer")}

Spectrum = tuple[int, int, np.ndarray, np.ndarray]


def _dtype(dt: Any, what: str) -> np.dtype:
    d = np.dtype(dt).newbyteorder("<")
    if d not in _DTYPE_ACC:
        raise ValidationError(f"imzML stores {what} as 32/64-bit float or integer, not {np.dtype(dt)}")
    return d


def _iter_cube(cube: xr.DataArray) -> Iterable[Spectrum]:
    cube = cube.transpose("y", "x", "mz")
    mz = np.asarray(cube["mz"].values, dtype=float)
    for yi in range(cube.sizes["y"]):
        row = np.asarray(cube.isel(y=yi).values)
        for xi in range(cube.sizes["x"]):
            yield xi, yi, mz, row[xi]


def _iter_data(src: Any) -> Iterable[Spectrum]:
    for i in range(src.n_spectra):
        mz, it = src.spectrum(i)
        yield int(src.index.x[i]) - 1, int(src.index.y[i]) - 1, mz, it


def write_imzml(data: Any, path: str | PathLike[str], *, force: bool = False, mode: str | None = None,
                shape: tuple[int, int] | None = None, pixel_size_um: float | tuple[float, float] | None = None,
                mz_dtype: Any = None, intensity_dtype: Any = None, polarity: str | None = None) -> Path:
    """Write ``data`` as ``path`` (``.imzML``) plus ``.ibd`` beside it.

    Parameters
    ----------
    data
        A ``hyperspectral`` (y, x, mz) array (continuous by default); an
        :class:`~ionscope.io.imzml.ImzMLData` (its own mode); or an iterable of
        ``(x, y, mz, intensity)`` with 0-based pixel indices (processed; needs ``shape``).
    mode
        ``"continuous"`` or ``"processed"``; continuous requires one m/z array for all pixels.
    shape
        (ny, nx) of the grid for an iterable of spectra.
    pixel_size_um
        Pixel size (µm), scalar or (y, x); default from ``data`` when it has coordinates.
    mz_dtype, intensity_dtype
        Stored number types (float32/float64/int32/int64); default float64 m/z, float32 intensities.
    """
    target = Path(path)
    if target.suffix.lower() != ".imzml":
        raise ValidationError(f"an imzML file name must end in .imzML, got {target.name}")
    ibd_target = target.with_suffix(".ibd")
    check_writable(target, force)
    check_writable(ibd_target, force)
    spectra, mode, shape, pixel, default_int = _source(data, mode, shape, pixel_size_um)
    mzd = _dtype(mz_dtype or np.float64, "m/z")
    itd = _dtype(intensity_dtype or default_int, "intensities")
    file_uuid = uuidlib.uuid4()
    rows: list[tuple[int, int, int, int, int, int]] = []
    sha1 = hashlib.sha1()
    with atomic_path(ibd_target, force=force) as tmp_ibd:
        with open(tmp_ibd, "wb") as fh:
            def put(buf: bytes) -> None:
                fh.write(buf)
                sha1.update(buf)

            put(file_uuid.bytes)
            pos = 16
            shared: tuple[int, int] | None = None
            shared_mz: np.ndarray = np.empty(0)
            for x, y, mz, it in spectra:
                mz = np.asarray(mz)
                it = np.asarray(it)
                if mz.shape != it.shape or mz.ndim != 1:
                    raise ValidationError(f"pixel ({x}, {y}): m/z and intensity arrays differ in shape")
                if not (0 <= x < shape[1] and 0 <= y < shape[0]):
                    raise ValidationError(f"pixel ({x}, {y}) lies outside the {shape[0]} × {shape[1]} grid")
                if mode == "continuous":
                    if shared is None:
                        shared_mz = mz
                        b = mz.astype(mzd).tobytes()
                        put(b)
                        shared = (pos, mz.size)
                        pos += len(b)
                    elif mz.size != shared[1] or not np.array_equal(mz, shared_mz):
                        raise ValidationError("continuous imzML needs the same m/z array in every pixel; "
                                              "use mode='processed'")
                    mo, ml = shared
                else:
                    b = mz.astype(mzd).tobytes()
                    put(b)
                    mo, ml = pos, mz.size
                    pos += len(b)
                b = _cast(it, itd).tobytes()
                put(b)
                rows.append((x + 1, y + 1, mo, ml, pos, it.size))
                pos += len(b)
        if not rows:
            raise ValidationError("nothing to write: no spectra")
        with atomic_path(target, force=force) as tmp_xml:
            _write_xml(tmp_xml, rows, mode=mode, shape=shape, pixel=pixel, mzd=mzd, itd=itd,
                       file_uuid=file_uuid.hex, sha1=sha1.hexdigest(), polarity=polarity)
    return target


def _cast(values: np.ndarray, dt: np.dtype) -> np.ndarray:
    if dt.kind == "i" and values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise ValidationError(f"intensities are not whole numbers; cannot store them as {dt}")
    return values.astype(dt)


def _source(data: Any, mode: str | None, shape: tuple[int, int] | None, pixel: Any
            ) -> tuple[Iterable[Spectrum], str, tuple[int, int], tuple[float, float] | None, Any]:
    from ionscope.io.imzml import ImzMLData

    if isinstance(data, xr.DataArray):
        if set(data.dims) != {"y", "x", "mz"}:
            raise ValidationError(f"imzML stores (y, x, mz) arrays; got dims {data.dims}")
        grid = (data.sizes["y"], data.sizes["x"])
        if pixel is None and data.sizes["x"] > 1:
            pixel = (float(data["y"][1] - data["y"][0]) if data.sizes["y"] > 1 else float(data["x"][1] - data["x"][0]),
                     float(data["x"][1] - data["x"][0]))
        default_int = data.dtype if np.dtype(data.dtype).newbyteorder("<") in _DTYPE_ACC else np.float32
        return _iter_cube(data), mode or "continuous", grid, _pair(pixel), default_int
    if isinstance(data, ImzMLData):
        return (_iter_data(data), mode or data.mode, data.shape,
                _pair(pixel) or data.index.pixel_size_um, data.index.int_dtype)
    if shape is None:
        raise ValidationError("writing an iterable of spectra needs shape=(ny, nx)")
    return iter(data), mode or "processed", (int(shape[0]), int(shape[1])), _pair(pixel), np.float32


def _pair(pixel: Any) -> tuple[float, float] | None:
    if pixel is None:
        return None
    if np.ndim(pixel) == 0:
        return float(pixel), float(pixel)
    return float(pixel[0]), float(pixel[1])


_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<mzML xmlns="http://psi.hupo.org/ms/mzml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <cvList count="3">
    <cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" version="4.1.0" URI="https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"/>
    <cv id="UO" fullName="Unit Ontology" version="releases/2020-03-10" URI="http://ontologies.berkeleybop.org/uo.obo"/>
    <cv id="IMS" fullName="Imaging MS Ontology" version="1.1.0" URI="https://raw.githubusercontent.com/imzML/imzML/master/imagingMS.obo"/>
  </cvList>
  <fileDescription>
    <fileContent>
      <cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum" value=""/>
      <cvParam cvRef="IMS" accession="{mode_acc}" name="{mode}" value=""/>
      <cvParam cvRef="IMS" accession="IMS:1000080" name="universally unique identifier" value="{{{uuid}}}"/>
      <cvParam cvRef="IMS" accession="IMS:1000091" name="ibd SHA-1" value="{sha1}"/>
    </fileContent>
  </fileDescription>
  <referenceableParamGroupList count="3">
    <referenceableParamGroup id="mzArray">
      <cvParam cvRef="MS" accession="MS:1000576" name="no compression" value=""/>
      <cvParam cvRef="MS" accession="MS:1000514" name="m/z array" value=""
        unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>
      <cvParam cvRef="IMS" accession="IMS:1000101" name="external data" value="true"/>
      <cvParam cvRef="{mz_ref}" accession="{mz_acc}" name="{mz_name}" value=""/>
    </referenceableParamGroup>
    <referenceableParamGroup id="intensityArray">
      <cvParam cvRef="MS" accession="MS:1000576" name="no compression" value=""/>
      <cvParam cvRef="MS" accession="MS:1000515" name="intensity array" value=""
        unitCvRef="MS" unitAccession="MS:1000131" unitName="number of detector counts"/>
      <cvParam cvRef="IMS" accession="IMS:1000101" name="external data" value="true"/>
      <cvParam cvRef="{it_ref}" accession="{it_acc}" name="{it_name}" value=""/>
    </referenceableParamGroup>
    <referenceableParamGroup id="spectrum1">
      <cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum" value=""/>
      <cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>
      <cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum" value=""/>{polarity}
    </referenceableParamGroup>
  </referenceableParamGroupList>
  <softwareList count="1">
    <software id="ionscope" version="{version}">
      <cvParam cvRef="MS" accession="MS:1000799" name="custom unreleased software tool" value="ionscope"/>
    </software>
  </softwareList>
  <scanSettingsList count="1">
    <scanSettings id="scanSettings1">
      <cvParam cvRef="IMS" accession="IMS:1000042" name="max count of pixels x" value="{nx}"/>
      <cvParam cvRef="IMS" accession="IMS:1000043" name="max count of pixels y" value="{ny}"/>{pixel}
    </scanSettings>
  </scanSettingsList>
  <instrumentConfigurationList count="1">
    <instrumentConfiguration id="IC1"/>
  </instrumentConfigurationList>
  <dataProcessingList count="1">
    <dataProcessing id="export_from_ionscope">
      <processingMethod order="1" softwareRef="ionscope">
        <cvParam cvRef="MS" accession="MS:1000530" name="file format conversion" value="Output to imzML"/>
      </processingMethod>
    </dataProcessing>
  </dataProcessingList>
  <run defaultInstrumentConfigurationRef="IC1" id="ionscope_run">
    <spectrumList count="{count}" defaultDataProcessingRef="export_from_ionscope">
"""

_SPECTRUM = """      <spectrum defaultArrayLength="0" id="spectrum={i}" index="{i}">
        <referenceableParamGroupRef ref="spectrum1"/>
        <scanList count="1">
          <cvParam cvRef="MS" accession="MS:1000795" name="no combination" value=""/>
          <scan instrumentConfigurationRef="IC1">
            <cvParam cvRef="IMS" accession="IMS:1000050" name="position x" value="{x}"/>
            <cvParam cvRef="IMS" accession="IMS:1000051" name="position y" value="{y}"/>
          </scan>
        </scanList>
        <binaryDataArrayList count="2">
          <binaryDataArray encodedLength="0">
            <referenceableParamGroupRef ref="mzArray"/>
            <cvParam cvRef="IMS" accession="IMS:1000103" name="external array length" value="{ml}"/>
            <cvParam cvRef="IMS" accession="IMS:1000104" name="external encoded length" value="{mb}"/>
            <cvParam cvRef="IMS" accession="IMS:1000102" name="external offset" value="{mo}"/>
            <binary/>
          </binaryDataArray>
          <binaryDataArray encodedLength="0">
            <referenceableParamGroupRef ref="intensityArray"/>
            <cvParam cvRef="IMS" accession="IMS:1000103" name="external array length" value="{il}"/>
            <cvParam cvRef="IMS" accession="IMS:1000104" name="external encoded length" value="{ib}"/>
            <cvParam cvRef="IMS" accession="IMS:1000102" name="external offset" value="{io}"/>
            <binary/>
          </binaryDataArray>
        </binaryDataArrayList>
      </spectrum>
"""

_TAIL = """    </spectrumList>
  </run>
</mzML>
"""


def _write_xml(path: Path, rows: list[tuple[int, int, int, int, int, int]], *, mode: str, shape: tuple[int, int],
               pixel: tuple[float, float] | None, mzd: np.dtype, itd: np.dtype, file_uuid: str, sha1: str,
               polarity: str | None) -> None:
    from ionscope import __version__

    if mode not in ("continuous", "processed"):
        raise ValidationError(f"imzML mode must be 'continuous' or 'processed', not {mode!r}")
    mz_acc, mz_name = _DTYPE_ACC[mzd]
    it_acc, it_name = _DTYPE_ACC[itd]
    pix = ""
    if pixel is not None:
        pix = "".join(
            f'\n      <cvParam cvRef="IMS" accession="{acc}" name="{name}" value="{value!r}" unitCvRef="UO" '
            f'unitAccession="UO:0000017" unitName="micrometer"/>'
            for acc, name, value in (("IMS:1000046", "pixel size (x)", pixel[1]), ("IMS:1000047", "pixel size y",
                                                                                  pixel[0])))
    pol = {"positive": '\n      <cvParam cvRef="MS" accession="MS:1000130" name="positive scan" value=""/>',
           "negative": '\n      <cvParam cvRef="MS" accession="MS:1000129" name="negative scan" value=""/>'}.get(
        polarity or "", "")
    head = _HEAD.format(mode_acc="IMS:1000030" if mode == "continuous" else "IMS:1000031", mode=mode,
                        uuid=file_uuid, sha1=sha1, mz_ref=mz_acc.split(":")[0], mz_acc=mz_acc, mz_name=mz_name,
                        it_ref=it_acc.split(":")[0], it_acc=it_acc, it_name=it_name, polarity=pol,
                        version=quoteattr(__version__)[1:-1], nx=shape[1], ny=shape[0], pixel=pix, count=len(rows))
    mi, ii = mzd.itemsize, itd.itemsize
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(head)
        fh.writelines(_SPECTRUM.format(i=i, x=x, y=y, ml=ml, mb=ml * mi, mo=mo, il=il, ib=il * ii, io=io)
                      for i, (x, y, mo, ml, io, il) in enumerate(rows))
        fh.write(_TAIL)


__all__ = ["write_imzml"]
