"""Isotope-exchange diffusion: analytic and numerical models, fits, grain boundaries, Arrhenius, Haven ratio.

Physics: Sharma et al. 2025, Sci. Technol. Adv. Mater. 26, 2580917, doi:10.1080/14686996.2025.2580917, eqs.
2–10. Depths are nm at the API surface and cm inside
the models; D in cm² s⁻¹, k in cm s⁻¹, times in s.
"""

from ionscope.diffusion.fick1d import Layer, Surface, converged_profile, solve_fick_1d
from ionscope.diffusion.fit import MODELS, compare_models, fit_profile, validate_profile
from ionscope.diffusion.fraction import NATURAL_ABUNDANCE, isotope_fraction, natural_fraction
from ionscope.diffusion.gb2d import fit_grain_boundary, solve_grain_boundary
from ionscope.diffusion.grain_boundary import boundary_flux_continuity, le_claire
from ionscope.diffusion.maps import diffusion_map
from ionscope.diffusion.models import (
    couple_profile,
    film_exchange_profile,
    finite_source_profile,
    gaussian_smear,
    semi_infinite_profile,
    surface_exchange_profile,
    thin_source_profile,
)
from ionscope.diffusion.tables import parse_time, read_arrhenius_table, read_profile, read_profile_table
from ionscope.diffusion.transport import (
    arrhenius,
    arrhenius_D,
    chemical_diffusion,
    haven_ratio,
    nernst_einstein,
    thermodynamic_factor,
)

__all__ = [
    "MODELS", "NATURAL_ABUNDANCE", "Layer", "Surface", "arrhenius", "arrhenius_D", "boundary_flux_continuity",
    "chemical_diffusion", "compare_models", "converged_profile", "couple_profile", "diffusion_map",
    "film_exchange_profile", "finite_source_profile", "fit_grain_boundary", "fit_profile", "gaussian_smear",
    "haven_ratio", "isotope_fraction", "le_claire", "natural_fraction", "nernst_einstein", "parse_time",
    "read_arrhenius_table", "read_profile", "read_profile_table", "semi_infinite_profile", "solve_fick_1d",
    "solve_grain_boundary", "surface_exchange_profile", "thermodynamic_factor", "thin_source_profile",
    "validate_profile",
]
