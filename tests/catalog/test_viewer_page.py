"""The viewer's catalogue page: list with filters, detail with tier and provenance, dataset link by SHA-256."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from ionscope.catalog import open_catalog
from ionscope.catalog.store import check_document

from .conftest import make_doc


@pytest.fixture()
def viewer(tmp_path):
    from ionscope.model.provenance import describe_input
    from ionscope.synth.depth import layered_stack
    from ionscope.viewer import make_server, serve_in_thread

    from ..conftest import write_surfacelab_profile

    stack = write_surfacelab_profile(layered_stack(seed=5)[0], tmp_path / "stack.txt")
    mine = make_doc(1)
    mine["inputs"] = [describe_input(stack) | {"path": "/elsewhere/stack.txt"}]
    mine["inputs"][0].pop("name", None)
    db = tmp_path / "cat.sqlite"
    with open_catalog(db, create=True) as cat:
        cat.add([("a", check_document(mine)), ("b", make_doc(2, tier="D"))])
    srv = make_server([stack])
    srv.catalog_db = str(db)
    serve_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(srv, path, token=True):
    host, port = srv.server_address[:2]
    req = urllib.request.Request(f"http://{host}:{port}{path}",
                                 headers={"X-Ionscope-Token": srv.token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_page_list_detail_and_dataset_link(viewer):
    status, body = _get(viewer, "/catalog")
    assert status == 200 and b"results catalogue" in body and viewer.token.encode() in body
    assert _get(viewer, "/static/catalog.js")[0] == 200
    status, body = _get(viewer, "/api/catalog")
    data = json.loads(body)
    assert status == 200 and data["count"] == 2 and data["entries"][0]["inputs"] == ["stack.txt"]
    assert [e["id"] for e in json.loads(_get(viewer, "/api/catalog?tier=D")[1])["entries"]] == [2]
    ranged = json.loads(_get(viewer, "/api/catalog?value=D%3D2.5e-13..3.5e-13%20cm%5E2%2Fs")[1])
    assert [e["id"] for e in ranged["entries"]] == [2]
    one = json.loads(_get(viewer, "/api/catalog/1")[1])
    assert one["dataset"] == viewer.catalogue.entries()[0].id and one["reliability"]["tier"] == "B"
    assert one["provenance"]["operation"] and one["results"]["D"]["unit"] == "cm^2/s"
    assert json.loads(_get(viewer, "/api/catalog/2")[1])["dataset"] is None


def test_requests_cannot_name_a_database_or_file(viewer):
    status, body = _get(viewer, "/api/catalog?db=/etc/passwd")
    assert status == 422 and b"unknown catalogue filter" in body
    assert _get(viewer, "/api/catalog/..%2F..%2Fetc%2Fpasswd")[0] == 404
    assert _get(viewer, "/api/catalog/99")[0] == 404
    assert _get(viewer, "/api/catalog", token=False)[0] == 401


def test_missing_catalogue_is_an_empty_list(viewer, tmp_path):
    viewer.catalog_db = str(tmp_path / "none.sqlite")
    data = json.loads(_get(viewer, "/api/catalog")[1])
    assert data["available"] is False and data["entries"] == [] and not (tmp_path / "none.sqlite").exists()
