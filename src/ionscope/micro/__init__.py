"""Microstructure metrics: fractions, connectivity, sizes, surfaces, triple-phase boundaries, tortuosity."""

from ionscope.micro.fractions import percolation, pore_connectivity, volume_fractions
from ionscope.micro.local_thickness import local_thickness, size_distribution
from ionscope.micro.metrics import METRICS, microstructure_metrics, select_metrics, tortuosity
from ionscope.micro.particles import equivalent_diameters, particle_radius_stats
from ionscope.micro.phases import axis_index, check_phases, label_volume, parse_length_um, parse_phases, phase_mask
from ionscope.micro.profiles import fraction_profile, phase_profile, tortuosity_profile
from ionscope.micro.pybamm import pybamm_parameters, write_pybamm_json
from ionscope.micro.representativity import (
    additive_uncertainty,
    representativity,
    representativity_result,
    tortuosity_uncertainty,
)
from ionscope.micro.surface import marching_cubes_area, surface_metrics
from ionscope.micro.tortuosity import percolating_cluster, solve_diffusion
from ionscope.micro.transport import effective_coefficient, electrode_tortuosity, transport_properties

__all__ = ["METRICS", "additive_uncertainty", "axis_index", "check_phases", "effective_coefficient",
    "electrode_tortuosity", "equivalent_diameters", "fraction_profile", "label_volume", "local_thickness",
    "marching_cubes_area", "microstructure_metrics", "parse_length_um", "parse_phases", "particle_radius_stats",
    "percolating_cluster", "percolation", "phase_mask", "phase_profile", "pore_connectivity", "pybamm_parameters",
    "representativity", "representativity_result", "select_metrics", "size_distribution", "solve_diffusion",
    "surface_metrics", "tortuosity", "tortuosity_profile", "tortuosity_uncertainty", "transport_properties",
    "volume_fractions", "write_pybamm_json"]
