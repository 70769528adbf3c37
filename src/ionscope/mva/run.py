"""One multivariate analysis of a file, end to end: read, decompose, save the maps, build the Result.

What ``ionscope mva pca|nmf|mcr|cluster`` does, as one library call: the command only parses its
options, calls :func:`run_mva` and prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import xarray as xr

from ionscope.model.deprecation import renamed_parameters
from ionscope.model.result import Result
from ionscope.model.stages import Stage, silent_stage
from ionscope.mva.result import MVAResult

#: Methods :func:`run_mva` runs and their names in messages.
METHODS = {"pca": "PCA", "nmf": "NMF", "mcr": "MCR-ALS", "cluster": "clustering"}
#: Iteration limits of NMF and MCR-ALS (their functions' defaults), the totals of their progress.
ITERATION_LIMITS = {"nmf": 1000, "mcr": 200}

ComputeStage = Callable[[str], contextlib.AbstractContextManager[Any]]




def _silent_compute(name: str) -> contextlib.AbstractContextManager[Any]:
    """A Dask computation without a progress display."""
    return contextlib.nullcontext()


@dataclass(frozen=True)
class MVARun:
    """Outcome of :func:`run_mva`.

    Attributes
    ----------
    decomposition
        The :class:`MVAResult` (score maps, loadings, explained variance).
    result
        Its JSON-serialisable :class:`~ionscope.model.result.Result`, with the input file in the
        provenance, the written files under ``outputs`` and a warning when nothing was written.
    label
        The method's name in messages (``"PCA"``, ``"NMF"``, ``"MCR-ALS"``, ``"clustering"``).
    outputs
        Written Zarr stores by role (``scores``/``loadings``, or ``phases`` for clustering).
    """

    decomposition: MVAResult
    result: Result
    label: str
    outputs: dict[str, Path] = field(default_factory=dict)

    def to_result(self) -> Result:
        """The :class:`~ionscope.model.result.Result` of the run."""
        return self.result

    def to_dict(self) -> dict[str, Any]:
        """The run's Result as a plain dict."""
        return self.result.to_dict()


@contextlib.contextmanager
def on_scheduler(address: str | None) -> Iterator[None]:
    """Run the block on a dask.distributed cluster at ``address`` (or the local scheduler)."""
    if address is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        from ionscope.model.errors import UnsupportedError

        raise UnsupportedError("--scheduler needs the 'distributed' package (pip install distributed)") from None
    with Client(address, timeout="20s"):
        yield


def output_paths(method: str, out: Path | None) -> dict[str, Path]:
    """The Zarr stores a run writes into the folder ``out`` (none without a folder)."""
    if out is None:
        return {}
    if method == "cluster":
        return {"phases": out / "phases.zarr"}
    return {"scores": out / "scores.zarr", "loadings": out / "loadings.zarr"}


@renamed_parameters(normalise="normalisation")
def run_mva(path: str | PathLike[str], method: str, n_components: int, *, scaling: str = "poisson",
            normalisation: str = "none", min_counts: float = 0.0, out: str | PathLike[str] | None = None,
            force: bool = False, algorithm: str = "kmeans", scheduler: str | None = None,
            stage: Stage | None = None, compute_stage: ComputeStage | None = None,
            variable: str | None = None, dims: Sequence[str] | None = None) -> MVARun:
    """Read ``path``, decompose it with ``method`` and save the score maps and loadings.

    Parameters
    ----------
    method
        ``"pca"``, ``"nmf"``, ``"mcr"`` or ``"cluster"`` (a PCA with ``n_components − 1`` components
        whose scores are clustered into ``n_components`` phases).
    scaling, normalisation
        See :func:`ionscope.mva.pca` (Poisson scaling: Keenan & Kotula 2004, Surf. Interface Anal.
        36, 203, doi:10.1002/sia.1657).
    min_counts
        Drop peaks with fewer total counts first (0: keep all).
    out
        Folder for ``scores.zarr`` and ``loadings.zarr`` (``phases.zarr`` for clustering); existing
        stores are refused before any work unless ``force``.
    algorithm
        Clustering algorithm, ``"kmeans"`` or ``"gmm"``.
    scheduler
        Address of a dask.distributed scheduler to compute on.
    stage
        ``stage(name, total)`` returning a context manager whose value has ``advance``/``update``
        (e.g. ``ionscope.cli.common.progress``): one per counted stage.
    compute_stage
        ``compute_stage(name)`` returning a context manager around a Dask computation (e.g.
        ``ionscope.cli.common.dask_progress``).
    variable, dims
        For a file holding several arrays (``.npz``, Zarr group): the data variable to analyse, and new
        names of its dimensions with ``peak`` for the channel axis (see :func:`ionscope.io.variables.select_array`).
    """
    from ionscope.io.atomic import check_writable

    stage = stage or silent_stage
    compute_stage = compute_stage or _silent_compute
    out = None if out is None else Path(out)
    path = Path(path)
    paths = output_paths(method, out)
    for p in paths.values():
        check_writable(p, force)
    label = METHODS[method]
    with on_scheduler(scheduler):
        with compute_stage(f"{label}: reading {path.name}"):
            data = _load(path, min_counts, in_memory=method in ITERATION_LIMITS, variable=variable, dims=dims)
        res = _decompose(data, method, n_components, scaling, normalisation, algorithm, stage, compute_stage)
        if out is not None:
            with compute_stage(f"{label}: writing to {out}"):
                _save(res, out, paths, force)
    return MVARun(res, _run_result(res, path, method, paths), label, paths)


def _load(path: Path, min_counts: float, *, in_memory: bool, variable: str | None = None,
          dims: Sequence[str] | None = None) -> xr.DataArray:
    """The data of ``path`` (its array with a ``peak`` axis) without its peaks of fewer than
    ``min_counts`` counts, loaded into memory for the methods that need it."""
    from ionscope.io import read
    from ionscope.io.variables import select_array
    from ionscope.mva.preprocess import select_peaks

    data = select_array(read(path), path, need="peak", variable=variable, dims=dims)
    if min_counts > 0:
        data = select_peaks(data, min_counts)
    if in_memory:
        data = data.load()
    return data


def _decompose(data: xr.DataArray, method: str, n_components: int, scaling: str, normalisation: str, algorithm: str,
               stage: Stage, compute_stage: ComputeStage) -> MVAResult:
    """Run the decomposition ``method`` on ``data``, reporting its stages."""
    from ionscope.mva.cluster import N_STARTS, cluster_scores
    from ionscope.mva.factor import mcr, nmf
    from ionscope.mva.pca import pca

    if method == "pca":
        with compute_stage("PCA: decomposition"):
            return pca(data, n_components, scaling=scaling, normalisation=normalisation)
    if method == "cluster":
        k = max(n_components - 1, 1)
        with compute_stage(f"clustering: PCA with {k} components"):
            scores = pca(data, k, scaling=scaling, normalisation=normalisation)
        steps = N_STARTS + (1 if algorithm == "gmm" else 0)
        with stage(f"clustering: {algorithm} into {n_components} phases", steps) as task:
            return cluster_scores(scores, n_components, method=algorithm, on_step=lambda name, n: task.advance(1))
    fn = nmf if method == "nmf" else mcr
    limit = ITERATION_LIMITS[method]
    with stage(f"{METHODS[method]}: iterations (stops when converged)", limit) as task:
        res = fn(data, n_components, scaling=scaling, normalisation=normalisation,
                 on_iteration=lambda it, n: task.update(completed=it, total=n))
        task.update(completed=limit, total=limit)
    return res


def _save(res: MVAResult, out: Path, paths: dict[str, Path], force: bool) -> None:
    """Write the score maps (the phase map for clustering) and loadings into ``out``."""
    from ionscope.io.zarr_store import save

    out.mkdir(parents=True, exist_ok=True)
    if res.method == "cluster":
        save(res.scores, paths["phases"], force=force)
    else:
        save(res.scores, paths["scores"], force=force)
        assert res.loadings is not None  # every method but clustering has loadings
        save(res.loadings, paths["loadings"], force=force)


def _run_result(res: MVAResult, path: Path, method: str, paths: dict[str, Path]) -> Result:
    """The decomposition's Result with the input file in its provenance, the outputs among its
    values and a warning when nothing was written."""
    from ionscope.model.provenance import describe_input

    base = res.to_result()
    prov = {**base.provenance, "inputs": [describe_input(path)]}
    notes = list(base.warnings)
    if not paths:
        notes.append("nothing was written: the maps and spectra stay in memory only; give --out FOLDER to save "
                     + ("phases.zarr" if method == "cluster" else "scores.zarr and loadings.zarr"))
    return Result(base.kind, {**base.values, "outputs": {k: str(v) for k, v in paths.items()}}, tuple(notes), prov)
