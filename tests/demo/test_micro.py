"""Tests of the FIB-SEM demo section's saved inputs."""

import numpy as np

from ionscope.demo.micro import _scribbles
from ionscope.synth.fibsem import GREY, PHASES, image_stack, three_phase_electrode


def test_scribbles_line_up_with_the_drifted_stack():
    """Labelled voxels of the raw stack show their phase's grey level: with no noise, stripes or shading
    and a large drift (several pixels), unaligned labels would miss on every interface they cross."""
    vol, _ = three_phase_electrode((12, 48, 48), seed=3)
    stack, itruth = image_stack(vol.values, noise_sigma=0.0, stripe_amplitude=0.0, shading=0.0,
                                drift_step_px=3.0, blur_px=0.3, fiducial_rows=4, seed=4)
    assert np.abs(itruth.truth["drift_px"]).max() > 3  # the test needs drift to mean something
    lab = np.asarray(_scribbles(vol, itruth.truth["transform"], 4, seed=5).values)
    assert not lab[:, :2].any()  # fiducial rows carry no phase
    grey = np.asarray(stack.values)
    phase_grey = np.zeros(max(PHASES.values()) + 2)
    for name, v in PHASES.items():
        phase_grey[v + 1] = GREY[name]
    sel = lab > 0
    # nearest phase grey for each labelled voxel (blur only mixes across interfaces)
    levels = np.array(sorted(GREY[n] for n in PHASES))
    nearest = levels[np.abs(grey[sel][:, None] - levels[None]).argmin(1)]
    agree = float((nearest == phase_grey[lab[sel]]).mean())
    assert agree > 0.9
