"""One synthetic operando cell shared by the analysis tests (simulating it takes ~1 s)."""

from __future__ import annotations

import pytest

from ionscope.synth.operando import operando_cell


@pytest.fixture(scope="session")
def cell():
    """((series, log), truth) of the default synthetic cell, and labels with LLTO and LTO regions added."""
    (series, log), truth = operando_cell(seed=7)
    labels = truth.truth["labels"].copy()
    k = int(labels.max())
    labels[truth.truth["llto_mask"]] = k + 1
    labels[truth.truth["lto_mask"]] = k + 2
    classes = list(truth.truth["classes"]) + ["irreversible", "reversible"]
    return series, log, truth, labels, classes


@pytest.fixture(scope="session")
def analysis(cell):
    from ionscope.operando.analysis import analyze_operando

    series, log, truth, labels, classes = cell
    return analyze_operando(series, log, labels=labels, species=["^58Ni+", "^48Ti+", "^6Li+"], area_cm2=0.2)

