"""Figures shared by several analyses (ion-image panels with scale bars), drawn with matplotlib."""
