"""``ionscope micro``: microstructure metrics of segmented volumes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ionscope.cli.common import console, emit_json, progress

NAME = "micro"
app = typer.Typer(help="Microstructure metrics: fractions, surfaces, TPB, percolation, tortuosity.")


@app.command()
def metrics(volume: Annotated[Path, typer.Argument(help="Label volume (TIFF stack, folder, .zip or .zarr)")],
            phases: Annotated[str, typer.Option(help="NAME=VALUE list, e.g. pore=0,nmc=85,cbd=170")],
            spacing: Annotated[str | None, typer.Option(help="Voxel size, e.g. 0.39um (default: from file)")] = None,
            tortuosity: Annotated[str | None, typer.Option(help="Phases for τ, comma separated (default all)")] = None,
            sizes: Annotated[bool, typer.Option(help="Local-thickness size distribution per phase")] = True,
            json: Annotated[bool, typer.Option("--json", help="Print a JSON object")] = False) -> None:
    """Volume fractions, SSA, interfacial areas, TPB density, percolation, τ per direction and sizes."""
    from ionscope.cli.tomo import open_stack
    from ionscope.micro.metrics import microstructure_metrics
    from ionscope.micro.phases import label_volume, parse_length_um, parse_phases

    ph = parse_phases(phases)
    vol = open_stack(volume)
    sp = parse_length_um(spacing) if spacing is not None else tuple(vol.attrs.get("spacing_um") or (1.0,) * 3)
    lab = label_volume(vol.values, ph, sp)
    tph = [t.strip() for t in tortuosity.split(",")] if tortuosity else None
    with progress("computing metrics", quiet=json):
        res = microstructure_metrics(lab, tortuosity_phases=tph, sizes=sizes, inputs=[volume])
    if json:
        emit_json(res)
        return
    for name, p in res["phases"].items():
        taus = p.get("tortuosity")
        tau = ("not computed" if taus is None else
               ", ".join(f"{d} {'—' if t is None else f'{t:.3f}'}" for d, t in taus.items()))
        console.print(f"{name}: ε = {p['volume_fraction']:.4f}, SSA = {p['specific_surface_area_per_um']:.4g} µm⁻¹, "
                      f"τ: {tau}")
        if "local_thickness_um" in p:
            lt = p["local_thickness_um"]
            console.print(f"  local thickness d10/d50/d90 = {lt['d10']:.3g}/{lt['d50']:.3g}/{lt['d90']:.3g} µm")
    for k, v in res["interfacial_area_per_um"].items():
        console.print(f"{k}: interfacial area {v:.4g} µm⁻¹")
    if "tpb_density_per_um2" in res.values:
        console.print(f"TPB density {res['tpb_density_per_um2']:.4g} µm⁻²")
    for w in res.warnings:
        console.print(f"[yellow]warning:[/] {w}")
