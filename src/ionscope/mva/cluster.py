"""Phase maps by clustering score vectors (k-means or a Gaussian mixture)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ionscope.model.errors import ValidationError
from ionscope.model.provenance import make_provenance
from ionscope.mva.result import MVAResult

METHODS = ("kmeans", "gmm")


N_STARTS = 10  # k-means restarts from k-means++ seeds; the lowest within-cluster sum of squares wins

#: A phase holding fewer samples than this fraction is called an outlier phase. After Poisson scaling the
#: scores of one material phase scatter as a Gaussian (Keenan & Kotula 2004, Surf. Interface Anal. 36, 203,
#: doi:10.1002/sia.1657), and 1 % of a Gaussian lies beyond ±2.58σ of its centre: a cluster no larger than
#: that tail can be made of the other phases' tail samples or of a few extreme pixels (hot pixels, dust,
#: detector spikes) rather than of a material.
OUTLIER_PHASE_FRACTION = 0.01


def cluster_scores(decomposition: MVAResult, n_clusters: int, *, method: str = "kmeans", seed: int = 0,
                   on_step: Callable[[str, int], None] | None = None) -> MVAResult:
    """Cluster each sample's scores into ``n_clusters`` phases.

    Labels are ordered by cluster size (0 = largest) so they are stable between runs; masked
    samples (NaN scores) get label −1. The centroids (in score space) are the ``loadings``-free
    result's ``values["centroids"]``. Phases left without any sample, fewer distinct score vectors
    than clusters, and a Gaussian mixture that does not converge are reported as warnings.

    ``on_step(stage, n_steps)`` is called after each k-means start and after the mixture fit (for
    progress display).
    """
    if method not in METHODS:
        raise ValidationError(f"unknown clustering method {method!r}; expected one of {METHODS}")
    scores = decomposition.scores
    if "component" not in scores.dims:
        raise ValidationError("clustering needs component scores (a PCA/NMF/MCR result)")
    sample_dims = [d for d in scores.dims if d != "component"]
    s = np.asarray(scores.transpose(*sample_dims, "component").values, dtype=float)
    shape = s.shape[:-1]
    s = s.reshape(-1, s.shape[-1])
    ok = np.isfinite(s).all(axis=1)
    if not isinstance(n_clusters, (int, np.integer)) or not 1 <= n_clusters <= ok.sum():
        raise ValidationError(f"n_clusters must be between 1 and the number of samples ({int(ok.sum())}), "
                              f"got {n_clusters!r}")
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    messages: list[str] = []
    model = None
    for start in range(N_STARTS):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            trial = KMeans(n_clusters, n_init=1, random_state=seed + start).fit(s[ok])
        messages += [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
        if model is None or trial.inertia_ < model.inertia_:
            model = trial
        if on_step:
            on_step("k-means starts", N_STARTS)
    assert model is not None  # N_STARTS ≥ 1 starts ran
    raw, centres = model.labels_, model.cluster_centers_
    notes = []
    n_distinct = len(np.unique(s[ok], axis=0)) if messages else n_clusters
    if n_distinct < n_clusters:
        notes.append(f"the scores hold only {n_distinct} distinct sample(s) for {n_clusters} clusters: the data do "
                     "not separate into that many phases")
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        # started from the k-means centres (deterministic). A shared ("tied") covariance: after Poisson
        # scaling the noise is homoscedastic, phases differ in mean; a free covariance per component
        # lets one broad Gaussian swallow the mixed boundary pixels of all phases.
        gmm = GaussianMixture(n_clusters, covariance_type="tied", random_state=seed, means_init=centres)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            gmm.fit(s[ok])
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            notes.append(f"the Gaussian mixture did not converge in {gmm.max_iter} iterations; its labels are "
                         "those of the last iteration")
        raw, centres = gmm.predict(s[ok]), gmm.means_
        if on_step:
            on_step("Gaussian mixture", 1)
    sizes = np.bincount(raw, minlength=n_clusters)
    if (sizes == 0).any():
        notes.append(f"{int((sizes == 0).sum())} of {n_clusters} phases received no sample (empty clusters): the "
                     f"data separate into fewer phases; try fewer clusters")
    order = np.argsort(-sizes, kind="stable")
    relabel = np.empty(n_clusters, dtype=int)
    relabel[order] = np.arange(n_clusters)
    labels = np.full(s.shape[0], -1, dtype=int)
    labels[ok] = relabel[raw]
    label_da = scores.isel(component=0, drop=True).copy(data=labels.reshape(shape)).rename("phase")
    label_da.attrs = {"units": "label"}
    prov = make_provenance("ionscope.mva.cluster_scores", parameters={"n_clusters": n_clusters, "method": method,
                                                                      "seed": seed},
                           parents=[decomposition.provenance])
    fractions = [float(v) for v in sizes[order] / sizes.sum()]
    notes += _outlier_phase_notes(sizes[order])
    return MVAResult("cluster", label_da, None, None,
                     values={"n_clusters": int(n_clusters), "algorithm": method, "phase_fractions": fractions,
                             "centroids": centres[order].tolist()}, warnings=tuple(notes), provenance=prov)


def _outlier_phase_notes(sizes: np.ndarray) -> list[str]:
    """A warning per non-empty phase smaller than :data:`OUTLIER_PHASE_FRACTION` of the samples."""
    total = int(sizes.sum())
    small = [(i, int(n)) for i, n in enumerate(sizes) if 0 < n < OUTLIER_PHASE_FRACTION * total]
    return [f"phase {i} holds {n} of {total} samples ({100 * n / total:.2g} %, under "
            f"{100 * OUTLIER_PHASE_FRACTION:g} %): an outlier phase (extreme pixels such as hot pixels, dust or "
            "detector spikes, or the tails of the other phases), not a material phase; try fewer clusters or "
            "look at these pixels" for i, n in small]
