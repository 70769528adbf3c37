"""The viewer's results-catalogue page: a filterable table of catalogued results and one result's detail.

Routes (token-protected like every viewer route; GET and HEAD only):

====================================  ================================================================
``GET /catalog``                      the page (``static/catalog.html``; sets the token cookie)
``GET /api/catalog``                  entries; filters ``kind``, ``tier``, ``material``, ``sample``,
                                      ``since``, ``until``, ``value`` (``D=1e-13..1e-11 cm^2/s``), ``limit``
``GET /api/catalog/<id>``             one entry: result, provenance, reliability tier and ``dataset``
====================================  ================================================================

The catalogue is the one chosen when the viewer started (``ionscope view --catalog-db``, else the
default catalogue); a request never names a database or a file. ``dataset`` is the id of a dataset the
viewer was started with whose content has the SHA-256 of one of the result's inputs, else ``null``: the
page offers to open only those, so no path from a request or from the catalogue is ever opened.
"""

from __future__ import annotations

import threading
from typing import Any

#: Query parameters ``/api/catalog`` understands; any other is refused (422), so none can smuggle a path.
LIST_PARAMS = frozenset({"kind", "tier", "material", "sample", "since", "until", "value", "limit"})
MAX_LIMIT = 1000
_index_lock = threading.Lock()


def catalog_target(server: Any) -> str:
    """The catalogue this viewer reads: fixed at start-up."""
    from ionscope.catalog import default_location

    return str(getattr(server, "catalog_db", None) or default_location())


def dataset_index(server: Any) -> dict[str, str]:
    """SHA-256 → dataset id of the datasets the viewer was started with (hashed once, on first use)."""
    with _index_lock:
        index = getattr(server, "_catalog_sha_index", None)
        if index is None:
            from ionscope.model.provenance import sha256_of

            index = {}
            for entry in server.catalogue.entries():
                try:
                    index.setdefault(sha256_of(entry.path), entry.id)
                except OSError:
                    continue
            server._catalog_sha_index = index
        return index


def _filters(params: dict[str, str]) -> tuple[Any, int]:
    from ionscope.catalog.store import Filters, parse_range
    from ionscope.model.errors import ValidationError
    from ionscope.reliability import TIERS

    unknown = sorted(set(params) - LIST_PARAMS)
    if unknown:
        raise ValidationError(f"unknown catalogue filter(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(LIST_PARAMS))}")
    tiers = [t for t in params.get("tier", "").split(",") if t]
    if any(t not in (*TIERS, "unknown") for t in tiers):
        raise ValidationError("tier must be A, B, C, D or unknown (comma-separated)")
    try:
        limit = min(int(params.get("limit", "200")), MAX_LIMIT)
    except ValueError:
        raise ValidationError("limit must be an integer") from None
    kinds = [k for k in params.get("kind", "").split(",") if k]
    values = [parse_range(params["value"])] if params.get("value") else []
    return Filters(kind=kinds, tier=tiers, material=params.get("material") or None,
                   sample=params.get("sample") or None, since=params.get("since") or None,
                   until=params.get("until") or None, values=values), max(limit, 1)


def handle(handler: Any, method: str, path: str, params: dict[str, str]) -> None:
    """Answer a ``/catalog`` or ``/api/catalog…`` request on the viewer's ``handler``."""
    from ionscope.viewer.server import STATIC_TYPES, HTTPError

    if method not in ("GET", "HEAD"):
        raise HTTPError(405, "the catalogue page is read-only", {"Allow": "GET, HEAD"})
    server = handler.server
    if path == "/catalog":
        html = server.static["catalog.html"].decode().replace("{{TOKEN}}", server.token)
        cookie = f"ionscope_token={server.token}; HttpOnly; SameSite=Strict; Path=/"
        handler._send(200, html.encode(), STATIC_TYPES[".html"], {"Set-Cookie": cookie})
        return
    segs = [s for s in path.split("/") if s]
    if len(segs) == 2:
        handler._json(200, list_entries(server, params))
        return
    if len(segs) == 3 and segs[2].isdigit():
        handler._json(200, entry_detail(server, int(segs[2])))
        return
    raise HTTPError(404, f"no such catalogue page: {path[:200]}")


def list_entries(server: Any, params: dict[str, str]) -> dict[str, Any]:
    """The entries matching ``params``; an absent catalogue is an empty list with a message."""
    from ionscope.catalog import CatalogError, open_catalog

    filters, limit = _filters(params)
    target = catalog_target(server)
    try:
        cat = open_catalog(target)
    except CatalogError as exc:
        return {"available": False, "message": exc.problem, "entries": [], "count": 0}
    with cat:
        entries = cat.query(filters, limit=limit)
        total = cat.count()
    for e in entries:
        e["inputs"] = [str(p).replace("\\", "/").rsplit("/", 1)[-1] for p in e["inputs"] if p]  # names only
    return {"available": True, "entries": entries, "count": total}


def entry_detail(server: Any, entry_id: int) -> dict[str, Any]:
    """One entry's result, provenance and tier, and the viewer dataset holding one of its inputs."""
    from ionscope.catalog import CatalogError, open_catalog
    from ionscope.viewer.server import HTTPError

    try:
        with open_catalog(catalog_target(server)) as cat:
            item = cat.get(entry_id)
    except CatalogError as exc:
        raise HTTPError(404, exc.problem) from None
    doc = item["document"]
    index = dataset_index(server)
    dataset = next((index[i["sha256"]] for i in doc.get("inputs", []) if i.get("sha256") in index), None)
    return {"id": item["id"], "kind": doc.get("kind"), "created": item["created"],
            "inputs": [{"name": str(i.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1],
                        "sha256": i.get("sha256")} for i in doc.get("inputs", [])],
            "reliability": doc.get("reliability"), "provenance": doc.get("provenance"),
            "parameters": doc.get("parameters"), "results": doc.get("results"),
            "warnings": doc.get("warnings", []), "dataset": dataset}
