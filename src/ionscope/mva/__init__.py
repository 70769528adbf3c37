"""Multivariate analysis (PCA, NMF, MCR-ALS, clustering) with Poisson scaling, in memory or out of core."""

from ionscope.mva.cluster import cluster_scores
from ionscope.mva.factor import kl_nmf, mcr, mcr_als, nmf
from ionscope.mva.pca import SOLVERS, pca
from ionscope.mva.preprocess import (
                                     Flattened,
                                     Preprocessed,
                                     check_matrix,
                                     flatten,
                                     preprocess,
                                     sample_mask,
                                     select_peaks,
)
from ionscope.mva.result import MVAResult
from ionscope.mva.run import MVARun, run_mva

__all__ = [
    "SOLVERS", "Flattened", "MVAResult", "MVARun", "Preprocessed", "check_matrix", "cluster_scores", "flatten",
    "kl_nmf", "mcr", "mcr_als", "nmf", "pca", "preprocess", "run_mva", "sample_mask", "select_peaks",
]
