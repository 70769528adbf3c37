import dask.array as da
import numpy as np
import pytest
from scipy.linalg import subspace_angles

from ionscope.mva import pca
from ionscope.synth.mva import mixture_image

distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_local_cluster_two_processes_gives_the_in_process_subspace():
    img, _ = mixture_image(3, shape=(32, 32), n_peaks=20, counts_per_pixel=200.0, seed=11)
    lazy = img.copy(data=da.from_array(img.values, chunks=(8, 32, 20)))
    local = pca(lazy, 2)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  memory_limit="500MB") as cluster, distributed.Client(cluster) as client:
        # a loaded machine can take seconds to start the two worker processes
        client.wait_for_workers(2, timeout=120)
        remote = pca(lazy, 2)
        scores = remote.scores.compute()
    assert np.max(subspace_angles(remote.loadings.values.T, local.loadings.values.T)) < 1e-9
    np.testing.assert_allclose(scores.values, local.scores.values, atol=1e-9)
