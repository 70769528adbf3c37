"""Small simulated inputs for every ``--json`` command, built once per test session.

Each case is ``kind → argv``; ``kind`` is the dotted command (``depth.layers``) that names the
command's JSON Schema in ``docs/schemas/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ..conftest import write_surfacelab_profile


def _spectrum_export(path: Path) -> Path:
    from ionscope.synth.spectra import tof_spectrum

    spec, _ = tof_spectrum({"H+": 3e4, "C+": 2e4, "CH3+": 4e4, "Na+": 6e4, "C2H3+": 5e4, "C2H5+": 3e4, "K+": 2e4,
                            "C3H5+": 3e4, "C4H7+": 1e4, "C7H7+": 5e3, "Ru+": 2e4, "Pt+": 8e3},
                           n_channels=150_000, shots=None, seed=3)
    rows = np.column_stack([spec.coords["channel"].values, spec.coords["mz"].values, spec.values])
    with open(path, "w") as fh:
        fh.write("# Binning: 1 channels\n# Deadtime Correction: off\nChannel\tm/z\tIntensity\n")
        np.savetxt(fh, rows, fmt=["%d", "%.9g", "%d"], delimiter="\t")
    return path


@pytest.fixture(scope="session")
def cases(tmp_path_factory) -> dict[str, list]:
    """``kind → argv`` for every command that prints JSON, on small simulated inputs."""
    import tifffile

    import ionscope
    from ionscope.io.cycling import write_cycling_csv
    from ionscope.synth import composite_cross_section
    from ionscope.synth.depth import layered_stack
    from ionscope.synth.diffusion import isotope_exchange_profile
    from ionscope.synth.events import raw_events
    from ionscope.synth.fibsem import image_stack, three_phase_electrode
    from ionscope.synth.mva import mixture_image
    from ionscope.synth.operando import operando_cell

    d = tmp_path_factory.mktemp("contract")
    image = ionscope.save(composite_cross_section(shape=(16, 16), seed=0)[0], d / "image.zarr")
    profile, truth = layered_stack(seed=5)
    depth = write_surfacelab_profile(profile, d / "stack.txt")
    species = ",".join(truth.truth["layer_of_species"])
    da, _ = isotope_exchange_profile("surface-exchange", D=1e-13, k=3e-9, time_s=86400.0, total_counts=1e5, seed=4)
    iso = d / "iso.csv"
    pd.DataFrame({"depth_nm": da.depth.values, "Li6": da.sel(peak="Li6").values,
                  "Li7": da.sel(peak="Li7").values}).to_csv(iso, index=False)
    T_C = np.array([25.0, 50, 75, 100, 125])
    D = 6e-13 * np.exp(-0.58 / 8.617333262e-5 * (1 / (T_C + 273.15) - 1 / 298.15))
    arr = d / "arrhenius.csv"
    pd.DataFrame({"T_C": T_C, "D_cm2_s": D, "D_err_cm2_s": 0.05 * D}).to_csv(arr, index=False)
    from scipy.special import erfc

    x = np.linspace(5, 15000, 300)
    gb = d / "gb.csv"
    pd.DataFrame({"depth_nm": x, "fraction": 0.5 * erfc(x / 200.0) + 0.02 * np.exp(-2.8e4 * (x * 1e-7) ** 1.2)}
                 ).to_csv(gb, index=False)
    table, _ = raw_events(d / "run.grd", nx=24, ny=20, n_scans=4, drift_px=np.array([[0, 0], [1, 2], [-2, 1], [3, -1]]),
                          seed=5)
    mix = ionscope.save(mixture_image(3, shape=(16, 16), n_peaks=10, counts_per_pixel=300.0, seed=3)[0], d / "mix.zarr")
    spectrum = _spectrum_export(d / "P_synthetic.txt")
    vol, _ = three_phase_electrode((8, 32, 32), seed=8)
    stack = d / "stack.tif"
    tifffile.imwrite(stack, image_stack(vol.values, seed=9)[0].values.astype(np.float32))
    labels = d / "labels.tif"
    tifffile.imwrite(labels, vol.values.astype(np.uint8))
    scribbles = d / "scribbles.tif"
    tifffile.imwrite(scribbles, np.where(np.arange(8)[:, None, None] % 4 == 1, vol.values + 1, 0).astype(np.uint8))
    section = d / "section.tif"
    tifffile.imwrite(section, three_phase_electrode((1, 64, 64), voxel_um=0.1, seed=2)[0].values[0])
    lib = d / "lib.yaml"
    lib.write_text('version: 1\nmarkers:\n  - {ion: "PO3-", polarity: negative, parents: [x], component: [CEI]}\n')
    (series, log), _ = operando_cell(seed=7)
    ionscope.save(series, d / "series.zarr")
    write_cycling_csv(log, d / "log.csv")
    ph = ",".join(f"{name}={value}" for name, value in vol.attrs["phases"].items())
    from ionscope.synth.depth import layered_cube
    from ionscope.synth.diffusion import grain_boundary_profile, isotope_exchange_cube

    layered = ionscope.save(layered_cube((8, 8), seed=1)[0], d / "layered.zarr")
    mri_profile = ionscope.save(layered_stack(thicknesses_nm=(60.0, 120.0), rates_nm_s=(1, 1, 1),
                                              species={"A+": 0, "B+": 1, "C+": 2}, seed=3)[0], d / "mri.zarr")

    gda, _ = grain_boundary_profile(max_depth_nm=12000, n_points=40, seed=1)
    gb2 = d / "gb2d.csv"
    pd.DataFrame({"depth_nm": gda.depth.values, "Li6": gda.sel(peak="Li6").values,
                  "Li7": gda.sel(peak="Li7").values}).to_csv(gb2, index=False)
    ionscope.save(isotope_exchange_cube((60, 6, 6), seed=2, k_range=(1e-9, 1e-8), total_counts=1e4)[0],
                  d / "iso_cube.zarr")
    return {
        "info": ["info", image],
        "convert": ["convert", stack, d / "converted.zarr", "--force"],
        "formats": ["formats"],
        "depth.layers": ["depth", "layers", depth, "--species", species, "--rates", "0.8±0.05nm/s"],
        "depth.cube": ["depth", "cube", layered, "--out", d / "maps.zarr", "--interface", "Li2O-:falling",
                       "--layers", "0:20,0s:10s", "--rect", "0um,0um,2um,2um", "--side-view", "xz", "--force"],
        "depth.mri": ["depth", "mri", mri_profile, "--species", "A+,B+,C+"],
        "depth.plot": ["depth", "plot", depth, "--species", species, "--out", d / "profile.svg", "--force"],
        "diffusion.fit": ["diffusion", "fit", iso, "--time", "24h", "--model", "surface-exchange",
                          "--isotopes", "Li6,Li7"],
        "diffusion.arrhenius": ["diffusion", "arrhenius", arr],
        "diffusion.haven": ["diffusion", "haven", "--dstar", "6e-13", "--sigma", "3e-7", "--n", "2.4e22",
                            "--T", "25 degC"],
        "diffusion.leclaire": ["diffusion", "leclaire", gb, "--time", "1e4s", "--d-bulk", "1e-14"],
        "diffusion.map": ["diffusion", "map", d / "iso_cube.zarr", "--isotopes", "^18O-,^16O-", "--time", "1h",
                          "--out", d / "D.zarr", "--force"],
        "diffusion.fraction": ["diffusion", "fraction", iso, "--isotopes", "^6Li+,^7Li+"],
        "diffusion.chemical": ["diffusion", "chemical", "--dstar", "6e-13±5e-14 cm^2/s", "--thermodynamic-factor",
                               "12±2", "--haven", "0.55±0.05"],
        "diffusion.gb": ["diffusion", "gb", gb2, "--time", "1e4 s", "--dbulk", "1e-14", "--grain-size", "4um",
                         "--isotopes", "Li6,Li7"],
        "image.extract": ["image", "extract", image, "--peaks", "7.016", "--tolerance", "0.2"],
        "image.bin-events": ["image", "bin-events", table.path, "--pixel-size", "0.39um", "--nx", "24", "--ny", "20",
                             "--k0", "2000",
                             "--sf", "20000", "--peaks", "7.016,58.93", "--tolerance-ppm", "2000", "--out",
                             d / "cube.zarr", "--force"],
        "library.show": ["library", "show", "--polarity", "negative"],
        "library.search": ["library", "search", "TFSI"],
        "library.validate": ["library", "validate", lib],
        "micro.metrics": ["micro", "metrics", labels, "--phases", ph, "--spacing", "0.39um", "--no-sizes"],
        "micro.transport": ["micro", "transport", labels, "--phases", ph, "--spacing", "0.39um",
                            "--coefficients", "pore=1.2", "--unit", "S/m", "--directions", "x,z",
                            "--electrode-axis", "z"],
        "micro.export": ["micro", "export", labels, "--phases", ph, "--spacing", "0.39um", "--electrode", "positive",
                         "--active", "nmc", "--base", Path(__file__).parents[1] / "micro" / "data" / "bpx_base.json",
                         "--to", "bpx", "--out", d / "cell.json", "--force"],
        "micro.profile": ["micro", "profile", labels, "--phases", ph, "--spacing", "0.39um", "--phase", "pore",
                          "--axis", "z", "--slabs", "2"],
        "micro.representativity": ["micro", "representativity", labels, "--phases", ph, "--spacing", "0.39um",
                                   "--phase", "pore", "--tortuosity", "x"],
        "mva.pca": ["mva", "pca", mix, "--components", "3"],
        "mva.nmf": ["mva", "nmf", mix, "--components", "3"],
        "mva.mcr": ["mva", "mcr", mix, "--components", "3"],
        "mva.cluster": ["mva", "cluster", mix, "--components", "3"],
        "operando.analyze": ["operando", "analyze", d / "series.zarr", "--cycling", d / "log.csv",
                             "--species", "^58Ni+", "--primary-current", "1.2pA"],
        "operando.report": ["operando", "report", d / "series.zarr", "--cycling", d / "log.csv",
                            "--species", "^58Ni+", "--primary-current", "1.2pA", "--out", d / "report.html", "--force"],
        "spectrum.peaks": ["spectrum", "peaks", spectrum],
        "spectrum.calibrate": ["spectrum", "calibrate", spectrum],
        "spectrum.identify": ["spectrum", "identify", spectrum, "--elements", "Ru,Pt,Pd"],
        "tomo.align": ["tomo", "align", stack, "--out", d / "aligned.zarr", "--pixel-size", "100nm",
                       "--slice-thickness", "100nm", "--force"],
        "tomo.destripe": ["tomo", "destripe", stack, "--out", d / "destriped.zarr", "--pixel-size", "100nm",
                          "--slice-thickness", "100nm", "--force"],
        "tomo.segment": ["tomo", "segment", stack, "--out", d / "seg.zarr", "--pixel-size", "100nm",
                         "--slice-thickness", "100nm", "--phases", "pore,cbd,nmc", "--force"],
        "tomo.correct": ["tomo", "correct", stack, "--out", d / "corrected.zarr", "--pixel-size", "100nm",
                         "--slice-thickness", "100nm", "--force"],
        **_correlate_cases(d),
        "tomo.train": ["tomo", "train", stack, "--labels", scribbles, "--classes", "pore,nmc,cbd", "--out",
                       d / "model.ionseg", "--trees", "10", "--pixel-size", "100nm", "--slice-thickness", "100nm",
                       "--force"],
        "micro.generate": ["micro", "generate", section, "--size", "16", "--out", d / "generated.zarr",
                           "--spacing", "0.39um", "--range", "32", "--force"],
        **_catalog_cases(d, depth),
    }


def _catalog_cases(d: Path, depth: Path) -> dict[str, list]:
    """A sample history beside the depth profile, a result file and catalogues for the catalog commands."""
    import json

    from ionscope.catalog import open_catalog
    from ionscope.catalog.store import check_document
    from ionscope.model.result import Quantity, Result, envelope

    (d / "stack.sample.yaml").write_text("preparation: cryo-fib\nair_free_transfer: true\n"
                                         "roi_rationale: interface chosen on the SEM image\n")
    doc = envelope("diffusion.fit", Result("diffusion.fit", {"D": Quantity(1e-13, 1e-15, "cm^2/s")}),
                   inputs=[depth], parameters={"time": Quantity(24.0, None, "h")})
    result = d / "result.json"
    result.write_text(json.dumps(doc))
    for name in ("catalog.sqlite", "remove.sqlite"):
        with open_catalog(d / name, create=True) as cat:
            cat.add([("contract", check_document(doc))])
    db = str(d / "catalog.sqlite")
    return {
        "sample.check": ["sample", "check", d / "stack.sample.yaml"],
        # the template goes in a folder of its own: written beside the contract inputs as sample.yaml it
        # would become their history and change the other cases' tiers
        "sample.init": ["sample", "init", d / "template" / "template.yaml", "--force"],
        "sample.export": ["sample", "export", d / "stack.sample.yaml", "--out", d / "history.jsonld", "--force"],
        "catalog.add": ["catalog", "add", result, "--db", str(d / "add.sqlite")],
        "catalog.list": ["catalog", "list", "--db", db],
        "catalog.query": ["catalog", "query", "--db", db, "--value", "D=1e-14..1e-12 cm^2/s", "--kind", "diffusion.*"],
        "catalog.show": ["catalog", "show", "1", "--db", db],
        "catalog.remove": ["catalog", "remove", "1", "--db", str(d / "remove.sqlite")],
        "catalog.export": ["catalog", "export", "--to", "csv", "--db", db, "--out", str(d / "export.csv"), "--force"],
    }


def _correlate_cases(d: Path) -> dict[str, list]:
    import tifffile

    import ionscope
    from ionscope.synth.correlative import correlative_pair

    sem, sims, truth = correlative_pair((160, 160), seed=1, rotation_deg=5.0, shift_um=(1.0, -0.5))
    tifffile.imwrite(d / "sem.tif", sem.values)
    tifffile.imwrite(d / "phase.tif", truth.truth["phase"].astype(np.uint8))
    ionscope.save(sims, d / "sims.zarr")
    register = ["correlate", "register", d / "sem.tif", d / "sims.zarr", "--fixed-pixel-size", "0.1um",
                "--out", d / "pair.json"]
    from ionscope.cli.main import main

    assert main(["--quiet", *map(str, register)]) == 0
    # the register case is the 3-D one (a FIB-SEM volume and a depth-calibrated SIMS cube, small); the
    # 2-D register runs above for the transfer case's transform
    from ionscope.synth.correlative import correlative_volume_pair

    fib, cube, _ = correlative_volume_pair((40, 100, 100), seed=1)
    ionscope.save(fib, d / "corr3d_fib.zarr")
    ionscope.save(cube, d / "corr3d_cube.zarr")
    register = ["correlate", "register", d / "corr3d_fib.zarr", d / "corr3d_cube.zarr", "--out",
                str(d / "pair3d.json")]
    return {"correlate.register": register,
            "correlate.transfer": ["correlate", "transfer", d / "phase.tif", d / "sims.zarr", "--transform",
                                   d / "pair.json", "--phases", "electrolyte=0,cathode=1,cbd=2"],
            "correlate.overlay": ["correlate", "overlay", d / "sem.tif", d / "sims.zarr", "--transform",
                                  d / "pair.json", "--out", d / "overlay.png", "--alpha", "0.6", "--force"]}
