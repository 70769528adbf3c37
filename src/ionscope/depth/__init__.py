"""Depth profiles: depth scale, normalisation, interfaces and layers, MRI forward model, artefact flags, 3D."""
