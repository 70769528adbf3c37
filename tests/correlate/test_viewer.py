"""The correlative pair page: token, images, metadata, landmarks saved as the CSV `--landmarks` reads."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from ionscope.correlate.pipeline import read_landmarks
from ionscope.viewer.correlate_view import make_server, pair_view


@pytest.fixture
def served(registered, tmp_path):
    view = pair_view(registered["sem"], registered["sims"], registered["transform"], tmp_path / "lm.csv")
    server = make_server(view)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, server.token, tmp_path / "lm.csv"
    server.shutdown()
    server.server_close()
    thread.join()


def _get(url, **headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def _post(url, body, token, ctype="application/json"):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": ctype, "X-Ionscope-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_page_images_and_meta_need_the_token(served):
    base, token, _ = served
    with pytest.raises(urllib.error.HTTPError) as exc:
        _get(f"{base}/api/meta")
    assert exc.value.code == 401
    status, ctype, page = _get(f"{base}/?token={token}")
    assert status == 200 and b"blend" in page and f"correlate.js?token={token}".encode() in page
    _, ctype, png = _get(f"{base}/img/warped.png?token={token}")
    assert ctype == "image/png" and png[:4] == b"\x89PNG"
    _, _, meta = _get(f"{base}/api/meta", **{"X-Ionscope-Token": token})
    meta = json.loads(meta)
    assert meta["registered"] and meta["fixed"]["shape"] == [256, 256]
    assert meta["fixed_extent_um"] == pytest.approx([0.0, 25.6, 0.0, 25.6])


def test_landmarks_are_saved_as_the_register_csv(served):
    base, token, csv = served
    pairs = [{"fixed": [1.0 + i, 2.0 * i], "moving": [0.5 * i, 3.0 + i]} for i in range(4)]
    status, doc = _post(f"{base}/api/landmarks", json.dumps(pairs).encode(), token)
    assert status == 200 and doc["saved"] == 4
    pairs = read_landmarks(csv)
    mov, fix = pairs["moving"], pairs["fixed"]
    assert np.allclose(fix[:, 0], [1, 2, 3, 4]) and np.allclose(mov[:, 1], [3, 4, 5, 6])
    assert _post(f"{base}/api/landmarks", b"[{\"fixed\": [1]}]", token)[0] == 422
    assert _post(f"{base}/api/landmarks", b"[]", token, ctype="text/plain")[0] == 415
    assert _post(f"{base}/api/landmarks", b"[]", "wrong")[0] == 401


def test_view_with_transform_needs_a_pair(registered, cli):
    code, _, err = cli("view", registered["sem"], "--transform", registered["transform"], "--no-browser")
    assert code == 2 and "exactly two paths" in err
