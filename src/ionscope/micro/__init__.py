"""Microstructure metrics: fractions, connectivity, sizes, surfaces, triple-phase boundaries, tortuosity."""
