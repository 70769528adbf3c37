"""Operando TOF-SIMS: cycling logs, image series aligned to electrochemistry, per-region tracking, dose.

Modules: :mod:`.electrochem` (capacities, Coulombic efficiency, SOC, CC/CV segments),
:mod:`.series` (the operando array and its alignment to the log), :mod:`.regions` (label images),
:mod:`.tracking` (trajectories, change maps, reversibility, heterogeneity), :mod:`.dose`,
:mod:`.analysis` (everything in one call), :mod:`.figures`, :mod:`.io` (what the CLI reads).
Registration lives in :mod:`ionscope.imaging.registration`.
"""

from ionscope.model.operando import check_series, make_operando_series, stack_frames
from ionscope.operando.analysis import OperandoAnalysis, analyze_operando
from ionscope.operando.dose import dose_per_frame, dose_summary
from ionscope.operando.electrochem import capacity_summary, cycle_capacities, segments, state_of_charge
from ionscope.operando.regions import (
    check_labels,
    erode_labels,
    labels_from_polygons,
    labels_from_registered,
    segment_particles,
)
from ionscope.operando.result import operando_result
from ionscope.operando.series import align_to_log, key_states
from ionscope.operando.tracking import change_maps, heterogeneity, normalise, reversibility, track_regions

__all__ = [
    "OperandoAnalysis", "align_to_log", "analyze_operando", "capacity_summary", "change_maps", "check_labels",
    "check_series", "cycle_capacities", "dose_per_frame", "dose_summary", "erode_labels", "heterogeneity",
    "key_states", "labels_from_polygons", "labels_from_registered", "make_operando_series", "normalise",
    "operando_result",
    "reversibility", "segment_particles", "segments", "stack_frames", "state_of_charge", "track_regions",
]
