"""``ionscope mva``: PCA, NMF, MCR-ALS and clustering of TOF-SIMS data from the command line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

NAME = "mva"
app = typer.Typer(help="Multivariate analysis (PCA, NMF, MCR-ALS, clustering) with Poisson scaling.",
                  no_args_is_help=True)

DataArg = Annotated[Path, typer.Argument(help="Any file ionscope reads that has a 'peak' dimension.")]
ComponentsOpt = Annotated[int, typer.Option("--components", "-n",
                                            help="Number of components (clusters for `cluster`).")]
ScalingOpt = Annotated[str, typer.Option("--scaling", help="poisson (Keenan & Kotula 2004, Surf. Interface Anal. "
                                                           "36, 203, doi:10.1002/sia.1657) or none.")]
NormaliseOpt = Annotated[str, typer.Option("--normalise", help="none or total (total-ion normalisation).")]
MinCountsOpt = Annotated[float, typer.Option("--min-counts", help="Drop peaks with fewer total counts (0: keep all).")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Folder for scores.zarr and loadings.zarr.")]
SchedulerOpt = Annotated[Optional[str], typer.Option("--scheduler", help="Dask distributed scheduler address.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing outputs.")]


@contextlib.contextmanager
def _scheduler(address: str | None) -> Iterator[None]:
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


def _load(path: Path, min_counts: float) -> Any:
    import ionscope
    from ionscope.mva import select_peaks

    data = ionscope.read(path)
    if min_counts > 0:
        data = select_peaks(data, min_counts)
    return data


def _run(method: str, data_path: Path, components: int, scaling: str, normalise: str, min_counts: float,
         out: Path | None, scheduler: str | None, json: bool, force: bool, **kwargs: Any) -> None:
    from ionscope.cli.common import dask_progress, emit_json, err_console, print_warnings, progress
    from ionscope.io.atomic import check_writable
    from ionscope.io.zarr_store import save
    from ionscope.model.provenance import describe_input
    from ionscope.model.result import Result
    from ionscope.mva import cluster_scores, mcr, nmf, pca

    paths = {}
    if out is not None:
        paths = {"scores": out / "scores.zarr", "loadings": out / "loadings.zarr"}
        if method == "cluster":
            paths = {"phases": out / "phases.zarr"}
        for p in paths.values():
            check_writable(p, force)
    label = {"pca": "PCA", "nmf": "NMF", "mcr": "MCR-ALS", "cluster": "clustering"}[method]
    with _scheduler(scheduler):
        with dask_progress(f"{label}: reading {data_path.name}", quiet=json):
            data = _load(data_path, min_counts)
            if method in ("nmf", "mcr"):
                data = data.load()
        if method == "pca":
            with dask_progress("PCA: decomposition", quiet=json):
                res = pca(data, components, scaling=scaling, normalisation=normalise)
        elif method == "cluster":
            with dask_progress(f"clustering: PCA with {max(components - 1, 1)} components", quiet=json):
                scores = pca(data, max(components - 1, 1), scaling=scaling, normalisation=normalise)
            from ionscope.mva.cluster import N_STARTS

            steps = N_STARTS + (1 if kwargs["algorithm"] == "gmm" else 0)
            with progress(f"clustering: {kwargs['algorithm']} into {components} phases", total=steps,
                          quiet=json) as task:
                res = cluster_scores(scores, components, method=kwargs["algorithm"],
                                     on_step=lambda stage, n: task.advance(1))
        else:
            fn = nmf if method == "nmf" else mcr
            limit = 500 if method == "nmf" else 200
            with progress(f"{label}: iterations (stops when converged)", total=limit, quiet=json) as task:
                res = fn(data, components, scaling=scaling, normalisation=normalise,
                         on_iteration=lambda it, n: task.update(completed=it, total=n))
                task.update(completed=limit, total=limit)
        if out is not None:
            with dask_progress(f"{label}: writing to {out}", quiet=json):
                out.mkdir(parents=True, exist_ok=True)
                if method == "cluster":
                    save(res.scores, paths["phases"], force=force)
                else:
                    save(res.scores, paths["scores"], force=force)
                    save(res.loadings, paths["loadings"], force=force)
    base = res.to_result()
    prov = {**base.provenance, "inputs": [describe_input(data_path)]}
    notes = list(base.warnings)
    if out is None:
        notes.append("nothing was written: the maps and spectra stay in memory only; give --out FOLDER to save "
                     + ("phases.zarr" if method == "cluster" else "scores.zarr and loadings.zarr"))
    result = Result(base.kind, {**base.values, "outputs": {k: str(v) for k, v in paths.items()}},
                    tuple(notes), prov)
    if json:
        emit_json(result)
        return
    err_console.print(f"{label}: {res.n_components} components of {data_path}", highlight=False)
    if res.explained_variance_ratio is not None:
        for i, v in enumerate(res.explained_variance_ratio):
            err_console.print(f"  component {i + 1}: {100 * v:.2f} % of the variance", highlight=False)
    if method == "cluster":
        for i, f in enumerate(res.values["phase_fractions"]):
            err_console.print(f"  phase {i}: {100 * f:.1f} % of the samples", highlight=False)
    if "iterations" in res.values:
        err_console.print(f"  {res.values['iterations']} iterations", highlight=False)
    print_warnings(notes)
    for k, p in paths.items():
        err_console.print(f"wrote {k}: {p}", highlight=False)


@app.command("pca")
def pca_cmd(data: DataArg, components: ComponentsOpt = 5, scaling: ScalingOpt = "poisson",
            normalise: NormaliseOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
            scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False) -> None:
    """PCA (full SVD in memory; one-pass Gram matrix out of core for lazy/Zarr data)."""
    _run("pca", data, components, scaling, normalise, min_counts, out, scheduler, json, force)


@app.command("nmf")
def nmf_cmd(data: DataArg, components: ComponentsOpt = 3, scaling: ScalingOpt = "none",
            normalise: NormaliseOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
            scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False) -> None:
    """NMF with the Poisson (Kullback–Leibler) loss; in memory."""
    _run("nmf", data, components, scaling, normalise, min_counts, out, scheduler, json, force)


@app.command("mcr")
def mcr_cmd(data: DataArg, components: ComponentsOpt = 3, scaling: ScalingOpt = "none",
            normalise: NormaliseOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
            scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False) -> None:
    """MCR-ALS with non-negative concentrations and spectra; in memory."""
    _run("mcr", data, components, scaling, normalise, min_counts, out, scheduler, json, force)


@app.command("cluster")
def cluster_cmd(data: DataArg, components: ComponentsOpt = 3, scaling: ScalingOpt = "poisson",
                normalise: NormaliseOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
                scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False,
                method: Annotated[str, typer.Option("--method", help="kmeans or gmm.")] = "kmeans") -> None:
    """Phase map: cluster the scores of an (N−1)-component PCA into N phases."""
    _run("cluster", data, components, scaling, normalise, min_counts, out, scheduler, json, force, algorithm=method)
