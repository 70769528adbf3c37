"""Regions: segmentation (threshold + watershed), polygons in µm, labels from a registered SEM image."""

from __future__ import annotations

import numpy as np
import pytest

from ionscope.imaging.registration import similarity_matrix
from ionscope.model.errors import ValidationError
from ionscope.operando.regions import (
    check_labels,
    erode_labels,
    labels_from_polygons,
    labels_from_registered,
    segment_particles,
)
from ionscope.synth.particles import disc_labels


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_segmentation_finds_particles_in_counts():
    labels, discs = disc_labels((96, 96), 8, (5, 8), seed=2, gap_px=4)
    rng = np.random.default_rng(0)
    counts = rng.poisson(np.where(labels > 0, 60.0, 8.0))
    seg = segment_particles(counts)
    assert seg.max() == labels.max()
    for k in range(1, labels.max() + 1):
        overlap = np.bincount(seg[labels == k], minlength=seg.max() + 1)[1:]
        best = int(np.argmax(overlap)) + 1
        # a one-pixel boundary band of a 5–8 px disc is ≈ 25–40 % of its area; opening + smoothing
        # move the edge by < 1 px, so IoU > 0.7
        assert _iou(seg == best, labels == k) > 0.7


def test_watershed_splits_touching_particles():
    yy, xx = np.mgrid[:60, :80]
    two = ((yy - 30) ** 2 + (xx - 28) ** 2 < 12**2) | ((yy - 30) ** 2 + (xx - 50) ** 2 < 12**2)
    img = two * 100.0
    assert segment_particles(img, watershed=False).max() == 1
    assert segment_particles(img, min_distance_px=8).max() == 2


def test_polygons_in_um():
    y = (np.arange(40) + 0.5) * 0.5
    x = (np.arange(60) + 0.5) * 0.5
    lab = labels_from_polygons([[(1, 1), (1, 6), (6, 6), (6, 1)], [(10, 20), (18, 20), (14, 28)]], y, x)
    assert lab[(y > 1) & (y < 6)][:, (x > 1) & (x < 6)].min() == 1
    assert (lab == 1).sum() == 100  # 5 µm × 5 µm at 0.5 µm pixels
    assert 2 in lab
    with pytest.raises(ValidationError, match="no polygon covers"):
        labels_from_polygons([[(100, 100), (100, 101), (101, 101)]], y, x)
    with pytest.raises(ValidationError, match="≥ 3"):
        labels_from_polygons([[(1, 1), (2, 2)]], y, x)


def test_labels_from_registered_sem():
    sims_labels, _ = disc_labels((64, 64), 5, (5, 7), seed=4, gap_px=4)
    m = similarity_matrix((3.0, -2.0, 0.0, 0.0), 2.0)  # SEM at twice the resolution, offset
    inv = np.linalg.inv(m)
    yy, xx = np.mgrid[:140, :140]
    src = inv[:2, :2] @ np.stack([yy.ravel(), xx.ravel()]) + inv[:2, 2:3]
    from scipy import ndimage

    sem_labels = ndimage.map_coordinates(sims_labels, src, order=0).reshape(140, 140)
    back = labels_from_registered(sem_labels, m, (64, 64))
    assert (back == sims_labels).mean() > 0.99


def test_check_labels_and_erosion():
    with pytest.raises(ValidationError, match="shape"):
        check_labels(np.ones((3, 3), int), (4, 4))
    with pytest.raises(ValidationError, match="non-integer"):
        check_labels(np.full((4, 4), 0.5), (4, 4))
    with pytest.raises(ValidationError, match="negative"):
        check_labels(-np.ones((4, 4), int), (4, 4))
    with pytest.raises(ValidationError, match="no region"):
        check_labels(np.zeros((4, 4), int), (4, 4))
    lab = np.zeros((10, 10), int)
    lab[2:8, 2:8] = 1
    lab[0, 9] = 2
    er = erode_labels(lab, 1)
    assert (er == 1).sum() == 16 and (er == 2).sum() == 1  # tiny regions are kept, not lost
