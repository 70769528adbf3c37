"""Mass calibration, dead-time correction, peak detection, isotope patterns and peak assignment."""

from ionscope.spectra.deadtime import correct_dead_time, dead_time_uncertainty

__all__ = ["correct_dead_time", "dead_time_uncertainty"]
