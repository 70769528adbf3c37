"""The virtual instrument: forward models of measurements with known ground truth.

Each simulator returns ``(data, truth)``: data in the ionscope data model, as a reader would give
it, and a :class:`GroundTruth` that tests and the demo compare analyses against. Simulators are
imported on first use, so ``import ionscope.synth`` stays cheap.

========================  ===============================================================
module                    simulators
========================  ===============================================================
``images``                composite-electrode ion images
``events``                raw TOF-SIMS events (GRD), processed imzML spectra
``spectra``               TOF spectra with isotope patterns, calibration and dead time
``depth``                 layered stacks with MRI broadening; 3D cubes
``diffusion``             isotope-exchange profiles, grain-boundary profiles, map cubes
``operando``              operando cross-section series and the matching cycling log
``mva``                   mixtures of known component spectra
``fibsem``                three-phase electrodes, FIB-SEM image stacks, analytic media
``viewer_samples``        one small sample of every data kind (viewer tests, README)
``correlative``           SEM / TOF-SIMS pairs and FIB-SEM / SIMS-cube pairs with the exact transform
========================  ===============================================================
"""

import lazy_loader

from ionscope.synth.core import GroundTruth, dead_time_counts, make_rng, poisson_counts
from ionscope.synth.images import composite_cross_section
from ionscope.synth.particles import disc_labels

__getattr__, _, _LAZY_NAMES = lazy_loader.attach(__name__, submod_attrs={
    "events": ["raw_events", "processed_imzml_spectra"],
    "spectra": ["tof_spectrum"],
    "depth": ["layered_stack", "layered_cube"],
    "diffusion": ["isotope_exchange_profile", "grain_boundary_profile", "isotope_map_cube"],
    "operando": ["operando_cell", "synthetic_cycling_log"],
    "mva": ["mixture_image"],
    "fibsem": ["three_phase_electrode", "image_stack", "straight_channels", "layered_medium"],
    "viewer_samples": ["write_viewer_samples"],
    "correlative": ["correlative_pair", "correlative_volume_pair", "write_correlative_pair"],
})


__all__ = ["GroundTruth", "composite_cross_section", "dead_time_counts", "disc_labels", "make_rng",
           "poisson_counts", *_LAZY_NAMES]
