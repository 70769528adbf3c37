"""The virtual instrument: forward models of measurements with known ground truth.

Each simulator returns ``(data, truth)``: data in the ionscope data model, as a reader would give
it, and a :class:`GroundTruth` that tests and the demo compare analyses against.
"""

from ionscope.synth.core import GroundTruth, dead_time_counts, make_rng, poisson_counts
from ionscope.synth.images import composite_cross_section
from ionscope.synth.particles import disc_labels

__all__ = ["GroundTruth", "composite_cross_section", "dead_time_counts", "disc_labels", "make_rng",
           "poisson_counts"]
