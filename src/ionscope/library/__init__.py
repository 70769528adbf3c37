"""Isotope masses and abundances, formula parsing, and the battery marker catalogue (versioned data files)."""
