"""One result shape: public analysis functions return a ``Result``, a labelled array or a named record.

Rule (docs/architecture.md, "Result shapes"): every public function of an analysis package — a
module-level function whose name does not start with ``_``, defined in a module of that package whose
path has no part starting with ``_`` — has a return annotation, and the annotation names none of the
bare containers ``dict``, ``tuple``, ``list``, ``Mapping``, ``Sequence`` nor ``Any``. Exported through
``__all__`` or not makes no difference: ``from ionscope.depth.cube_maps import cube_maps`` is as
public as ``from ionscope.depth import to_depth``. A result is then one of

* :class:`ionscope.model.result.Result` or :class:`~ionscope.model.result.Quantity`;
* a labelled array or table (``xr.DataArray``, ``xr.Dataset``, ``pd.DataFrame``);
* an image, volume or label array (``np.ndarray``, a Dask array) whose meaning the docstring gives;
* a named record class of ionscope (a frozen dataclass such as ``MVAResult`` or ``FickSolution``);
* a scalar (``float``, ``int``, ``bool``, ``str``), a ``Path`` written, or ``None``.

Functions that return something else on purpose (a mapping in a third party's own format, an input
parsed from the user's text, warning texts, a NumPy index, a model object of a deep-learning framework)
are listed in ``EXEMPT`` by the module that defines them, with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

#: The analysis packages whose public functions follow the rule.
PACKAGES = ("micro", "depth", "diffusion", "imaging", "mva", "operando", "tomo", "correlate", "spectra")

#: Bare containers (and ``Any``, which hides the shape) not allowed in a return annotation.
BARE = re.compile(r"(?<![\w.])(dict|tuple|list|Mapping|Sequence|Any|Dict|Tuple|List)\b")

#: Public functions allowed to return a bare container (or ``Any``), by defining module, and why.
EXEMPT = {
    "ionscope.micro.pybamm.pybamm_parameters": "PyBaMM's own parameter-set mapping (keys such as "
                                               "'Positive particle radius [m]'), passed on to pybamm.ParameterValues",
    "ionscope.micro.phases.parse_phases": "parses the user's NAME=VALUE text into the phase-name → label mapping "
                                          "that every micro function takes as input",
    "ionscope.micro.phases.check_phases": "the phase-name → label mapping (an input, checked), not a result",
    "ionscope.micro.metrics.select_metrics": "the names of the chosen metrics, an input to microstructure_metrics",
    "ionscope.micro.local_thickness.size_distribution": "micro.local_thickness is converted with the "
                                                        "local-thickness work",
    "ionscope.micro.tortuosity.label_phase": "the (labels, count) pair of scipy.ndimage.label, passed on unchanged "
                                             "as solve_diffusion's labels input to share the clusters between "
                                             "directions (a volume-sized array a Result would keep in a "
                                             "command's flag recording)",
    "ionscope.depth.cube_maps.roi_masks_from_labels": "the (name, mask) pairs cube_maps takes as its rois input",
    "ionscope.depth.interfaces.profile_features": "depth.interfaces is converted with the layer-finding work",
    "ionscope.diffusion.checks.check_diffusion_length": "warning texts, added to the warnings of a fit's Result",
    "ionscope.diffusion.checks.check_reaches_background": "warning texts, added to the warnings of a fit's Result",
    "ionscope.diffusion.checks.check_gradient_points": "warning texts, added to the warnings of a fit's Result",
    "ionscope.diffusion.checks.check_bounds": "warning texts, added to the warnings of a fit's Result",
    "ionscope.diffusion.gb2d.le_claire_reasons": "warning texts (why Le Claire's law does not hold), added to the "
                                                 "gb Result's values and text",
    "ionscope.micro.metrics.default_directions": "the default --directions of a volume (x, y and z, or x and y for "
                                                 "a 2-D image), an input to microstructure_metrics",
    "ionscope.spectra.plots.existing_figures": "the figures a --plot run would replace, found before any work to "
                                               "refuse an overwrite without --force (an input check)",
    "ionscope.spectra.plots.figure_stems": "the name each file's figures start with (file → name), an input to "
                                           "plot_identification known before any work",
    "ionscope.spectra.deadtime.dead_time_corrected": "the spectrum (a labelled array) and the warnings that say "
                                                     "what was done, added to every spectrum command's warnings",
    "ionscope.mva.preprocess.sparse_peak_warning": "warning texts, added to the warnings of an MVA result",
    "ionscope.mva.run.output_paths": "the stores a run will write (name → Path), an input to the writer and "
                                     "MVARun.paths, known before anything is computed",
    "ionscope.tomo.align.fiducial_region": "a NumPy index (a (y, x) pair of slices) checked against the slice "
                                           "shape, used as image[region]",
    "ionscope.tomo.train.parse_classes": "parses the user's class-name text into the list of classes, an input",
    "ionscope.tomo.train.check_pixel_size": "warning texts, added to the warnings of a segmentation Result",
    "ionscope.tomo.destripe.haar2": "the (LL, LH, HL, HH) sub-bands of one wavelet level, as pywt.dwt2 returns "
                                    "them, inside a per-slice loop: a Result is kept by the command's flag "
                                    "recording (ionscope.model.flags) for the whole run, a tuple is not",
    "ionscope.tomo.train_unet.build_unet": "a PyTorch module (an untyped third-party class, imported lazily)",
    "ionscope.tomo.train_unet.train_unet": "a trained PyTorch module (an untyped third-party class, imported lazily)",
    "ionscope.tomo.train_unet.unet_from_arrays": "a PyTorch module rebuilt from stored weights (untyped, lazy)",
    "ionscope.correlate.grid.to_sitk": "a SimpleITK image (an untyped third-party class, imported lazily) for "
                                       "the registration",
    "ionscope.correlate.grid.sitk_image": "a SimpleITK image (untyped third-party class, lazy)",
    "ionscope.correlate.register.affine_transform": "a SimpleITK transform (untyped third-party class, lazy)",
    "ionscope.correlate.volume.itk_affine": "a SimpleITK 3-D transform (untyped third-party class, lazy)",
    "ionscope.correlate.volume.to_sitk3": "a SimpleITK 3-D image (untyped third-party class, lazy)",
    "ionscope.correlate.pipeline.label_names": "the display names of the label values (an input to the "
                                               "per-label tables of pipeline and pipeline3d), not a result",
    "ionscope.correlate.transfer.partial_volume_weights": "the (weights, coverage) arrays of one label image, an "
                                                          "input to unmix inside the per-draw loop of transfer_labels",
    "ionscope.correlate.transfer.unmix": "the (means, σ) arrays of one least-squares solve inside the per-draw "
                                         "loops of transfer_labels and transfer3d: a Result is kept by the "
                                         "command's flag recording (ionscope.model.flags), a tuple is not",
    "ionscope.spectra.pipeline.parse_elements": "parses the user's --elements text ('auto' or symbols) into the "
                                                "element list that identify_file takes as input",
    "ionscope.spectra.pipeline.lock_elements_option": "parses the user's --lock-elements text (symbols, 'none' or "
                                                      "not given) into the lock_elements input of the calibration",
    "ionscope.spectra.lockmass.lock_ions": "the (label, exact m/z) pairs recalibrate takes as its lock_masses "
                                           "input (further references), not a result",
    "ionscope.spectra.pipeline.spectrum_files": "the spectrum files a batch will read, expanded from the user's "
                                                "files and folders: an input, known before anything is computed",
}

#: Modules outside the rule for now, and why.
EXEMPT_MODULES = {
    "ionscope.micro.generate": "micro.generate* is converted with the structure-generation work",
    "ionscope.micro.generate_anneal": "micro.generate* is converted with the structure-generation work",
    "ionscope.micro.generate_slicegan": "micro.generate* is converted with the structure-generation work",
}


def _public_modules(package: str):
    root = importlib.import_module(f"ionscope.{package}")
    yield root
    for info in pkgutil.walk_packages(root.__path__, f"ionscope.{package}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def public_functions(package: str):
    """``(module.name, function)`` of every public module-level function defined in ``ionscope.<package>``."""
    for module in _public_modules(package):
        if module.__name__ in EXEMPT_MODULES:
            continue
        for name, obj in vars(module).items():
            if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", inspect.unwrap(obj)


def return_annotation(func) -> str | None:
    ann = func.__annotations__.get("return")
    if ann is None:
        return None
    return ann if isinstance(ann, str) else getattr(ann, "__name__", repr(ann))


@pytest.mark.parametrize("package", PACKAGES)
def test_public_analysis_functions_return_one_result_shape(package):
    found = list(public_functions(package))
    assert found, f"no public functions found in ionscope.{package}"
    bad = []
    for where, func in found:
        if where in EXEMPT:
            continue
        ann = return_annotation(func)
        if ann is None:
            bad.append(f"{where}: no return annotation")
        elif BARE.search(ann):
            bad.append(f"{where} -> {ann}")
    assert not bad, ("public analysis functions must return a Result, a labelled array or a named record "
                     "(tests/test_result_shapes.py says which shapes):\n" + "\n".join(bad))


def test_the_rule_catches_a_bare_container():
    def f() -> tuple[int, int]:
        return 1, 2

    assert BARE.search(return_annotation(f)) and BARE.search("dict[str, float] | None")
    assert BARE.search("Any") and not BARE.search("ManyThings")
    assert not BARE.search("Result") and not BARE.search("xr.DataArray | np.ndarray | None")


def test_exemptions_are_still_public():
    for where in EXEMPT:
        module, name = where.rsplit(".", 1)
        obj = getattr(importlib.import_module(module), name, None)
        assert inspect.isfunction(obj) and obj.__module__ == module, f"{where} is exempt but no longer defined there"
    for module in EXEMPT_MODULES:
        importlib.import_module(module)


def test_the_walk_sees_functions_outside_all():
    found = dict(public_functions("depth"))
    assert "ionscope.depth.cube_maps.cube_maps" in found and "ionscope.depth.mri.mri_analysis" in found
    assert not any(name.rsplit(".", 1)[1].startswith("_") for name in found)
