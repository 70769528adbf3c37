"""Depth profiles: depth scales, normalisation, interfaces and layers, MRI model, artefact flags, 3D.

Sputter time, dose and fluence are the default axes; depth needs declared rates (:func:`to_depth`).
"""

from ionscope.depth._common import species_label
from ionscope.depth.artefacts import check_artefacts, compare_time_axes
from ionscope.depth.axes import is_organic, layer_thickness, rate_from_crater, to_depth
from ionscope.depth.cube import interface_depth_map, layer_maps, pixel_interfaces, roi_profile, side_view
from ionscope.depth.interfaces import choose_marker_species, find_layers, order_of_maxima, surface_transient_scans
from ionscope.depth.layer_table import layer_table
from ionscope.depth.mri import fit_mri, fit_profile_mri, layer_composition, mri_kernel, mri_profile
from ionscope.depth.normalise import isotope_fraction, normalise, ratio, smooth

__all__ = [
    "check_artefacts", "choose_marker_species", "compare_time_axes", "find_layers", "fit_mri", "fit_profile_mri",
    "interface_depth_map",
    "is_organic",
    "isotope_fraction", "layer_composition", "layer_maps", "mri_kernel", "mri_profile", "normalise",
    "order_of_maxima", "pixel_interfaces", "rate_from_crater", "ratio", "roi_profile", "side_view", "smooth",
    "species_label", "surface_transient_scans", "to_depth", "layer_table", "layer_thickness",
]
