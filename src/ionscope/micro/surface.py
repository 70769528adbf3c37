"""Specific surface area, interfacial areas between phase pairs and triple-phase-boundary length.

Definitions (face counting with a stereological correction)
-----------------------------------------------------------
Every pair of face-adjacent voxels with labels a ≠ b contributes the area of their shared face
(``dy·dx``, ``dz·dx`` or ``dz·dy``). For a smooth surface of area S whose normals are isotropically
distributed, the staircase of voxel faces has expected area ``S·⟨|n_x|+|n_y|+|n_z|⟩ = 3S/2`` (Crofton;
Cauchy's projection formula), so the face count is multiplied by 2/3. The same argument applies to
triple-phase-boundary (TPB) lines: a voxel edge whose four surrounding voxels hold all three phases
is a TPB edge; the staircase length of an isotropic curve is 3/2 its true length, so the summed edge
length is multiplied by 2/3. Densities are per total volume: areas in µm²/µm³ = µm⁻¹,
TPB in µm/µm³ = µm⁻². Raw (uncorrected) face counts, TauFactor's definition, are reported as well.
"""

from __future__ import annotations

import itertools

import numpy as np

CROFTON = 2.0 / 3.0


def _pair_index(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo.astype(np.int64) * n + hi


def interface_face_areas(codes: np.ndarray, n_phases: int, spacing: tuple[float, float, float]) -> np.ndarray:
    """Raw area (µm²) of voxel faces between every pair of phase codes, as an (n, n) symmetric matrix.

    ``codes`` holds phase indices 0…n−1. Processed slab by slab along z to bound memory.
    """
    dz, dy, dx = spacing
    area = np.zeros(n_phases * n_phases)
    face = {0: dy * dx, 1: dz * dx, 2: dz * dy}
    step = max(1, int(2**24 // max(codes[0].size, 1)))
    nz = codes.shape[0]
    for z0 in range(0, nz, step):
        blk = codes[z0:min(z0 + step + 1, nz)]
        for ax in range(3):
            a = blk[:-1] if ax == 0 else (blk[:, :-1] if ax == 1 else blk[:, :, :-1])
            b = blk[1:] if ax == 0 else (blk[:, 1:] if ax == 1 else blk[:, :, 1:])
            if ax != 0 and z0 + step < nz:
                a, b = a[:-1], b[:-1]
            d = a != b
            if d.any():
                area += face[ax] * np.bincount(_pair_index(a[d], b[d], n_phases), minlength=n_phases**2)
    m = area.reshape(n_phases, n_phases)
    return m + m.T


def tpb_edge_length(codes: np.ndarray, spacing: tuple[float, float, float], phases3: tuple[int, int, int]) -> float:
    """Raw length (µm) of voxel edges around which all three of ``phases3`` meet."""
    dz, dy, dx = spacing
    total = 0.0
    bits = np.zeros(int(codes.max()) + 1, np.uint8)
    for k, p in enumerate(phases3):
        bits[p] = 1 << k
    b = bits[codes]
    # edges along x: 2×2 neighbourhoods in (z, y); along y: (z, x); along z: (y, x)
    for ax, length in ((2, dx), (1, dy), (0, dz)):
        o = [a for a in range(3) if a != ax]
        s00 = [slice(None)] * 3
        s01, s10, s11 = list(s00), list(s00), list(s00)
        s00[o[0]] = slice(None, -1); s00[o[1]] = slice(None, -1)  # noqa: E702
        s01[o[0]] = slice(None, -1); s01[o[1]] = slice(1, None)  # noqa: E702
        s10[o[0]] = slice(1, None); s10[o[1]] = slice(None, -1)  # noqa: E702
        s11[o[0]] = slice(1, None); s11[o[1]] = slice(1, None)  # noqa: E702
        u = b[tuple(s00)] | b[tuple(s01)] | b[tuple(s10)] | b[tuple(s11)]
        total += length * float(np.count_nonzero(u == 7))
    return total


def surface_metrics(labels: np.ndarray, phases: dict[str, int], spacing: tuple[float, float, float]) -> dict:
    """Specific surface areas (µm⁻¹) per phase, interfacial areas per pair (µm⁻¹) and TPB density (µm⁻²)."""
    names = list(phases)
    lut = np.full(int(max(phases.values())) + 1, 0, np.uint8)
    for k, n in enumerate(names):
        lut[phases[n]] = k
    codes = lut[np.asarray(labels)]
    volume = labels.size * float(np.prod(spacing))
    areas = interface_face_areas(codes, len(names), spacing)
    out: dict = {"specific_surface_area_per_um": {}, "interfacial_area_per_um": {},
                 "face_count_area_per_um": {}}
    for k, n in enumerate(names):
        out["specific_surface_area_per_um"][n] = CROFTON * areas[k].sum() / volume
        out["face_count_area_per_um"][n] = areas[k].sum() / volume
    for i, j in itertools.combinations(range(len(names)), 2):
        out["interfacial_area_per_um"][f"{names[i]}-{names[j]}"] = CROFTON * areas[i, j] / volume
    if len(names) == 3:
        raw = tpb_edge_length(codes, spacing, (0, 1, 2))
        out["tpb_density_per_um2"] = CROFTON * raw / volume
        out["tpb_edge_density_per_um2"] = raw / volume
    return out
