"""Isotope-exchange diffusion: analytic and numerical models, fits, grain boundaries, Arrhenius, Haven ratio."""
