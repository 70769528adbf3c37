"""Mass calibration, dead-time correction, peak detection, isotope patterns and peak assignment."""

from ionscope.kernels.deadtime import correct_dead_time, dead_time_uncertainty
from ionscope.spectra.assign import CandidateTable, assign_peaks, candidate_table
from ionscope.spectra.calibration import (
    MODELS,
    REFERENCE_IONS,
    Calibration,
    ScanCalibrations,
    apply_calibration,
    auto_calibrate,
    calibration_from_axis,
    fit_calibration,
    recalibrate_scans,
)
from ionscope.spectra.elements import identify_elements
from ionscope.spectra.forms import candidate_species
from ionscope.spectra.identification import Identification, SpeciesFit, elements_present
from ionscope.spectra.peaks import estimate_baseline, find_spectrum_peaks

__all__ = [
    "MODELS", "REFERENCE_IONS", "Calibration", "CandidateTable", "Identification", "ScanCalibrations", "SpeciesFit",
    "apply_calibration", "assign_peaks",
    "auto_calibrate", "calibration_from_axis", "candidate_species", "candidate_table", "correct_dead_time",
    "dead_time_uncertainty", "elements_present", "estimate_baseline", "fit_calibration", "find_spectrum_peaks",
    "identify_elements", "recalibrate_scans",
]
