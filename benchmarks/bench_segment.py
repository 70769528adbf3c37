"""Segmentation of simulated FIB-SEM stacks with artefacts: per-class IoU and time, Otsu vs random forest vs U-Net.

Truth: :func:`ionscope.synth.fibsem.three_phase_electrode` (pore, NMC, CBD). Images:
:func:`ionscope.synth.fibsem.image_stack` with noise, curtaining and shading ("curtaining"), and the
same plus the pore-back effect (λ = 2 slices) and charging (40 grey levels) ("all artefacts").
Labels: 4 % of the pixels of 3 slices (of 48), drawn at random — sparse labels standing in for
scribbles. Learners are trained on stack A and scored on all of stack A (97 % of it unlabelled) and
on stack B (another electrode and another noise realisation, same imaging): the second score is the
one that tells whether a model carries over to new data. Otsu: three-class multi-Otsu on the raw
grey levels and after a Gaussian of σ = 1 px. Run: ``python benchmarks/bench_segment.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure, record, table
from ionscope.synth.fibsem import PHASES, image_stack, three_phase_electrode
from ionscope.tomo import train as tr
from ionscope.tomo.segment import multi_otsu_segment

SHAPE = (48, 96, 96)
CLASSES = ["pore", "nmc", "cbd"]
ARTEFACTS = {"curtaining": {}, "all artefacts": {"pore_back_px": 2.0, "charging": 40.0}}


def _stack(seed: int, extra: dict) -> tuple:
    vol, _ = three_phase_electrode(SHAPE, seed=seed)
    img, _ = image_stack(vol.values, drift_step_px=0.0, seed=seed + 100, **extra)
    return img, vol.values


def _labels(truth: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lab = np.zeros(truth.shape, np.uint8)
    for k in (8, 24, 40):
        pick = rng.random(truth.shape[1:]) < 0.04
        lab[k][pick] = truth[k][pick] + 1
    return lab


def _otsu(img, sigma: float) -> np.ndarray:
    from scipy import ndimage

    v = img if sigma == 0 else img.copy(data=ndimage.gaussian_filter(np.asarray(img.values), sigma))
    # grey order pore < cbd < nmc; map to the truth's label values
    order = sorted(PHASES, key=lambda p: {"pore": 40, "cbd": 120, "nmc": 200}[p])
    lut = np.array([PHASES[p] for p in order], np.uint8)
    return lut[multi_otsu_segment(v, order).values]


def _row(method: str, case: str, fit_s: float | None, seg_s: float, a: list, b: list | None) -> dict:
    row = {"artefacts": case, "method": method, "train s": "—" if fit_s is None else fit_s, "segment s": seg_s}
    for c, i in zip(CLASSES, a, strict=True):
        row[f"IoU {c} (A)"] = i
    for c, i in zip(CLASSES, b if b is not None else [None] * 3, strict=True):
        row[f"IoU {c} (B)"] = "—" if i is None else i
    return row


def main() -> None:
    rows = []
    try:
        import torch  # noqa: F401

        learners = ["random-forest", "unet"]
    except ImportError:
        learners = ["random-forest"]
    for case, extra in ARTEFACTS.items():
        img_a, truth_a = _stack(1, extra)
        img_b, truth_b = _stack(2, extra)
        lab = _labels(truth_a)
        for sigma in (0.0, 1.0):
            m = measure("otsu", lambda s=sigma, im=img_a: _otsu(im, s), repeat=1)
            b = _otsu(img_b, sigma)
            rows.append(_row(f"multi-Otsu σ={sigma:g} px", case, None, m.best,
                             tr.iou_per_class(m.value, truth_a, 3), tr.iou_per_class(b, truth_b, 3)))
        for learner in learners:
            kw = {"n_estimators": 60} if learner == "random-forest" else {"epochs": 40}
            fit = measure(learner, lambda ln=learner, k=kw, im=img_a, lb=lab:
                          tr.train(im, lb, CLASSES, learner=ln, **k), repeat=1)
            model = fit.value
            seg = measure("seg", lambda mo=model, im=img_a: tr.segment_with_model(mo, im)["labels"].values, repeat=1)
            pb = tr.segment_with_model(model, img_b)["labels"].values
            rows.append(_row(learner, case, fit.best, seg.best, tr.iou_per_class(seg.value, truth_a, 3),
                             tr.iou_per_class(pb, truth_b, 3)))
        print(table(rows[-2 - len(learners):]))
    body = (f"Stacks of {SHAPE[0]}×{SHAPE[1]}×{SHAPE[2]} voxels; labels on 4 % of the pixels of 3 of the 48 slices "
            "of stack A. IoU per class on stack A (where the labels are) and on stack B (another electrode, same "
            "imaging). Random forest: 60 trees, depth ≤ 14; U-Net: 2 levels, width 8, 40 epochs × 8 batches of "
            "8 patches of 48 px, CPU.\n\n" + table(rows))
    record("segment", "Learned segmentation: IoU against the truth (Otsu / random forest / U-Net)", body)


if __name__ == "__main__":
    main()
