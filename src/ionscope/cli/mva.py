"""``ionscope mva``: PCA, NMF, MCR-ALS and clustering of TOF-SIMS data from the command line."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ionscope.cli.options import ForceOpt, JsonOpt, deprecated_spelling, renamed

NAME = "mva"
app = typer.Typer(help="Multivariate analysis (PCA, NMF, MCR-ALS, clustering) with Poisson scaling.",
                  no_args_is_help=True)

DataArg = Annotated[Path, typer.Argument(help="Any file ionscope reads that has a 'peak' dimension.")]


PcaComponentsOpt = Annotated[int, typer.Option("--components", "-n", help=(
    "Number of principal components kept (score maps and loading spectra)."))]
NmfComponentsOpt = Annotated[int, typer.Option("--components", "-n", help=(
    "Number of NMF factors (non-negative spectra and their abundance maps)."))]
McrComponentsOpt = Annotated[int, typer.Option("--components", "-n", help=(
    "Number of MCR-ALS components (pure spectra and their concentration maps)."))]
ClusterComponentsOpt = Annotated[int, typer.Option("--components", "-n", help=(
    "Number of phases N (clusters of the scores of an (N−1)-component PCA)."))]
ScalingOpt = Annotated[str, typer.Option("--scaling", help="poisson (Keenan & Kotula 2004, Surf. Interface Anal. "
                                                           "36, 203, doi:10.1002/sia.1657) or none.")]
NormalisationOpt = Annotated[str, typer.Option("--normalisation", help="none or total (total-ion normalisation).")]
NormaliseOldOpt = Annotated[Optional[str], deprecated_spelling("--normalise", "--normalisation")]
MinCountsOpt = Annotated[float, typer.Option("--min-counts", help="Drop peaks with fewer total counts (0: keep all).")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Folder for scores.zarr and loadings.zarr.")]
SchedulerOpt = Annotated[Optional[str], typer.Option("--scheduler", help="Dask distributed scheduler address.")]
VariableOpt = Annotated[Optional[str], typer.Option("--variable", help="Array to analyse in a file holding several "
                                                                       "(.npz, Zarr group).")]
DimsOpt = Annotated[Optional[str], typer.Option("--dims", help="Names of the array's dimensions, in order, 'peak' "
                                                               "for the channel axis (e.g. pixel,peak).")]


def _normalisation(normalisation: str, normalise: str | None) -> str:
    """--normalisation, or its old spelling --normalise (with a deprecation warning)."""
    return renamed(normalisation, normalise, old="--normalise", new="--normalisation", default="none")


def _run(method: str, data_path: Path, components: int, scaling: str, normalise: str, min_counts: float,
         out: Path | None, scheduler: str | None, json: bool, force: bool, algorithm: str = "kmeans",
         variable: str | None = None, dims: str | None = None) -> None:
    from ionscope.cli.common import dask_progress, emit_json, progress
    from ionscope.mva.run import run_mva

    run = run_mva(data_path, method, components, scaling=scaling, normalisation=normalise, min_counts=min_counts,
                  out=out, force=force, algorithm=algorithm, scheduler=scheduler, variable=variable,
                  dims=None if dims is None else dims.split(","),
                  stage=partial(progress, quiet=json),
                  compute_stage=lambda name: dask_progress(name, quiet=json))
    if json:
        emit_json(run.result)
        return
    _print_run(run, data_path)


def _print_run(run: Any, data_path: Path) -> None:
    """The run in a few lines on stdout (components, variance, phase fractions, iterations, files written);
    its warnings on stderr."""
    from ionscope.cli.common import console, print_warnings

    res = run.decomposition
    console.print(f"{run.label}: {res.n_components} components of {data_path}", highlight=False)
    if res.explained_variance_ratio is not None:
        top = run.result.values.get("top_peaks") or [[]] * len(res.explained_variance_ratio)
        for i, (v, peaks) in enumerate(zip(res.explained_variance_ratio, top)):
            named = f" (largest loadings: {_channels(peaks)})" if peaks else ""
            console.print(f"  component {i + 1}: {100 * v:.2f} % of the variance{named}", highlight=False)
    if res.method == "cluster":
        for i, f in enumerate(res.values["phase_fractions"]):
            console.print(f"  phase {i}: {100 * f:.3g} % of the samples", highlight=False)
    if "iterations" in res.values:
        console.print(f"  {res.values['iterations']} iterations", highlight=False)
    print_warnings(run.result.warnings)
    for k, p in run.outputs.items():
        console.print(f"wrote {k}: {p}", highlight=False)


def _channels(labels: list[str]) -> str:
    """Peak labels for text: channel masses read as ``m/z 43.00, 55.00``, ion names as they are."""
    try:
        [float(v) for v in labels]
    except ValueError:
        return ", ".join(labels)
    return "m/z " + ", ".join(labels)


@app.command("pca")
def pca_cmd(data: DataArg, components: PcaComponentsOpt = 5, scaling: ScalingOpt = "poisson",
            normalisation: NormalisationOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
            scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False,
            normalise: NormaliseOldOpt = None, variable: VariableOpt = None, dims: DimsOpt = None) -> None:
    """PCA (full SVD in memory; one-pass Gram matrix out of core for lazy/Zarr data)."""
    _run("pca", data, components, scaling, _normalisation(normalisation, normalise),
         min_counts, out, scheduler, json, force, variable=variable, dims=dims)


@app.command("nmf")
def nmf_cmd(data: DataArg, components: NmfComponentsOpt = 3, scaling: ScalingOpt = "none",
            normalisation: NormalisationOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
            scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False,
            normalise: NormaliseOldOpt = None, variable: VariableOpt = None, dims: DimsOpt = None) -> None:
    """NMF with the Poisson (Kullback–Leibler) loss; in memory."""
    _run("nmf", data, components, scaling, _normalisation(normalisation, normalise),
         min_counts, out, scheduler, json, force, variable=variable, dims=dims)


@app.command("mcr")
def mcr_cmd(data: DataArg, components: McrComponentsOpt = 3, scaling: ScalingOpt = "none",
            normalisation: NormalisationOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
            scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False,
            normalise: NormaliseOldOpt = None, variable: VariableOpt = None, dims: DimsOpt = None) -> None:
    """MCR-ALS with non-negative concentrations and spectra; in memory."""
    _run("mcr", data, components, scaling, _normalisation(normalisation, normalise),
         min_counts, out, scheduler, json, force, variable=variable, dims=dims)


@app.command("cluster")
def cluster_cmd(data: DataArg, components: ClusterComponentsOpt = 3, scaling: ScalingOpt = "poisson",
                normalisation: NormalisationOpt = "none", min_counts: MinCountsOpt = 0.0, out: OutOpt = None,
                scheduler: SchedulerOpt = None, json: JsonOpt = False, force: ForceOpt = False,
                normalise: NormaliseOldOpt = None, variable: VariableOpt = None, dims: DimsOpt = None,
                method: Annotated[str, typer.Option("--method", help="kmeans or gmm.")] = "kmeans") -> None:
    """Phase map: cluster the scores of an (N−1)-component PCA into N phases."""
    _run("cluster", data, components, scaling, _normalisation(normalisation, normalise),
         min_counts, out, scheduler, json, force, algorithm=method, variable=variable, dims=dims)
