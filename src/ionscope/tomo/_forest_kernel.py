"""Walk the node tables of a stored random forest (numba): each row from the root to a leaf, per tree.

A split sends a row left when ``x[feature] <= threshold``, as in scikit-learn's trees; the class
probabilities are the mean over trees of the leaf's class frequencies.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def forest_proba_kernel(X: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
                        threshold: np.ndarray, value: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    n_trees = left.shape[0]
    n_classes = value.shape[2]
    for i in range(X.shape[0]):
        for t in range(n_trees):
            node = 0
            while left[t, node] >= 0:
                if X[i, feature[t, node]] <= threshold[t, node]:
                    node = left[t, node]
                else:
                    node = right[t, node]
            for c in range(n_classes):
                out[i, c] += value[t, node, c]
        for c in range(n_classes):
            out[i, c] /= n_trees
