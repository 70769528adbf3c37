"""Mass calibration, dead-time correction, peak detection, isotope patterns and peak assignment."""
