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
========================  ===============================================================
"""

from importlib import import_module
from typing import Any

from ionscope.synth.core import GroundTruth, dead_time_counts, make_rng, poisson_counts
from ionscope.synth.images import composite_cross_section
from ionscope.synth.particles import disc_labels

_LAZY = {
    "raw_events": "events", "processed_imzml_spectra": "events",
    "tof_spectrum": "spectra",
    "layered_stack": "depth", "layered_cube": "depth",
    "isotope_exchange_profile": "diffusion", "grain_boundary_profile": "diffusion", "isotope_map_cube": "diffusion",
    "operando_cell": "operando", "synthetic_cycling_log": "operando",
    "mixture_image": "mva",
    "three_phase_electrode": "fibsem", "image_stack": "fibsem", "straight_channels": "fibsem",
    "layered_medium": "fibsem",
    "write_viewer_samples": "viewer_samples",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"ionscope.synth.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ionscope.synth' has no attribute {name!r}")


__all__ = ["GroundTruth", "composite_cross_section", "dead_time_counts", "disc_labels", "make_rng",
           "poisson_counts", *_LAZY]
