"""``ionscope view PATH…``: open datasets in the local browser viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ionscope.cli.common import console, err_console
from ionscope.cli.options import ForceOpt


def view(
    paths: Annotated[list[Path], typer.Argument(help="Files, Zarr stores, or folders of them (all listed).")],
    port: Annotated[int, typer.Option("--port", help="Port to listen on, 0…65535 (0: a free one).")] = 0,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the URL but do not open a browser.")] = False,
    host: Annotated[str, typer.Option("--host", help="Address to bind (default loopback only).")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option("--allow-remote",
                                               help="Allow a non-loopback --host (anyone with the token can read).")
                            ] = False,
    transform: Annotated[Path | None, typer.Option(
        "--transform", help="With FIXED MOVING: show the registered pair (blend, landmarks; `correlate view`).")
                         ] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="With --allow-remote: a further host name or address clients may use to reach the "
                             "viewer (repeatable); requests naming any other host are refused.")] = None,
    catalog_db: Annotated[str | None, typer.Option(
        "--catalog-db", metavar="PATH_OR_URL", help="Results catalogue shown at /catalog (default: the default "
                                                    "catalogue of `ionscope catalog`).")] = None,
    landmarks_out: Annotated[Path, typer.Option(
        "--landmarks-out", help="With --transform: where Save writes the landmark CSV.")] = Path("landmarks.csv"),
    force: ForceOpt = False,
) -> None:
    """Explore spectra, ion images, depth profiles, operando series, volumes and maps in the browser.

    Maps (D*, k, interface depth …) show with colour bars in physical units and the value ± 1σ under
    the pointer; 3-D cubes also show side views (scan × x at a row, scan × y at a column)."""
    if transform is not None:  # a correlative pair: FIXED MOVING --transform T
        from ionscope.cli.correlate import view_pair

        return view_pair(*paths, transform=transform, landmarks_out=landmarks_out, port=port, no_browser=no_browser,
                         force=force)
    from ionscope.viewer.server import is_loopback, make_server, serve_until_interrupted

    server = make_server(paths, host=host, port=port, allow_remote=allow_remote, allowed_hosts=allow_host or (),
                         strict=True)  # a named file that fails, or nothing loaded: an error, no server
    server.catalog_db = catalog_db  # read by the /catalog page; fixed here, never taken from a request
    if not is_loopback(host):
        names = ", ".join(sorted(server.allowed_hosts))
        err_console.print(f"[bold yellow]warning:[/bold yellow] listening on {host}, not loopback: anyone who can "
                          "reach this address and knows the token can read these datasets. Clients must address "
                          f"the viewer as {names} or a loopback name (add others with --allow-host).",
                          highlight=False, soft_wrap=True)
    for entry in server.catalogue.entries():
        if not entry.ok:
            err_console.print(f"[yellow]could not load[/yellow] {entry.error}", highlight=False, soft_wrap=True)
    console.print(f"ionscope viewer: {len(server.catalogue)} dataset(s) at", highlight=False)
    serve_until_interrupted(server, open_browser=not no_browser)


def register(app: typer.Typer) -> None:
    """Add the top-level ``view`` command to the ``ionscope`` app."""
    app.command(name="view")(view)
