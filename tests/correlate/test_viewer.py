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


# --- overwriting the landmark CSV -------------------------------------------------------------------------------

PAIRS = [{"fixed": [1.0 + i, 2.0 * i], "moving": [0.5 * i, 3.0 + i]} for i in range(4)]


@pytest.fixture
def calls(monkeypatch):
    """Record the pair views built and served by the command, without reading images or serving."""
    from ionscope.viewer import correlate_view

    seen: dict[str, list] = {"built": [], "served": []}
    real = correlate_view.pair_view

    def build(*args, **kwargs):
        view = real(*args, **kwargs)
        seen["built"].append(view)
        return view

    monkeypatch.setattr(correlate_view, "pair_view", build)
    monkeypatch.setattr(correlate_view, "serve", lambda view, **kw: seen["served"].append(view))
    return seen


def _view_args(registered, out, *extra):
    return ("correlate", "view", registered["sem"], registered["sims"], "--transform", registered["transform"],
            "--landmarks-out", out, "--no-browser", *extra)


def test_view_refuses_an_existing_landmarks_out_before_any_work(registered, cli, calls, tmp_path):
    out = tmp_path / "lm.csv"
    out.write_text("theirs\n")
    code, _, err = cli(*_view_args(registered, out))
    assert code == 2 and "already exists" in err and "--force" in err and str(out) in err
    assert "force=True" not in err  # the Python-only advice is left out on the command line
    assert not calls["built"] and not calls["served"] and out.read_text() == "theirs\n"


def test_view_with_force_replaces_an_existing_landmarks_out(registered, cli, calls, tmp_path):
    out = tmp_path / "lm.csv"
    out.write_text("theirs\n")
    code, _, err = cli(*_view_args(registered, out, "--force"))
    assert code == 0, err
    (view,) = calls["served"]
    assert view.save_landmarks(PAIRS) == 4 and read_landmarks(out)["fixed"].shape == (4, 2)


@pytest.mark.parametrize("name, message", [("lm.txt", "must end in .csv"), ("lm.json", "must end in .csv"),
                                           ("afile/lm.csv", "is a file, not a folder")])
def test_view_refuses_a_landmarks_out_it_cannot_write(registered, cli, calls, tmp_path, name, message):
    (tmp_path / "afile").write_text("x")
    code, _, err = cli(*_view_args(registered, tmp_path / name, "--force"))
    assert code == 2 and message in err and not calls["built"]


def test_view_never_replaces_a_folder_named_like_the_csv(registered, cli, calls, tmp_path):
    folder = tmp_path / "lm.csv"
    (folder / "keep").mkdir(parents=True)
    code, _, err = cli(*_view_args(registered, folder, "--force"))
    assert code == 2 and not calls["built"] and (folder / "keep").is_dir()


def test_top_level_view_passes_landmarks_out_and_force(registered, cli, calls, tmp_path):
    out = tmp_path / "lm.csv"
    out.write_text("theirs\n")
    args = ("view", registered["sem"], registered["sims"], "--transform", registered["transform"], "--no-browser",
            "--landmarks-out", out)
    code, _, err = cli(*args)
    assert code == 2 and "already exists" in err and not calls["built"]
    code, _, err = cli(*args, "--force")
    assert code == 0, err
    assert calls["served"][0].landmarks_out == out and calls["served"][0].force


def test_saving_again_replaces_only_the_file_the_session_wrote(registered, tmp_path):
    from ionscope.model.errors import OutputExistsError

    out = tmp_path / "lm.csv"
    view = pair_view(registered["sem"], registered["sims"], registered["transform"], out)
    assert view.save_landmarks(PAIRS) == 4
    assert view.save_landmarks(PAIRS[:3]) == 3  # Save clicked again: replaces its own file
    assert read_landmarks(out)["fixed"].shape == (3, 2)
    out.write_text("theirs, written meanwhile\n")  # another program replaced it
    with pytest.raises(OutputExistsError):
        view.save_landmarks(PAIRS)
    assert out.read_text() == "theirs, written meanwhile\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lm.csv.tmp")]  # no temporary file left


def test_a_file_created_after_start_up_is_not_replaced(registered, tmp_path):
    out = tmp_path / "lm.csv"
    view = pair_view(registered["sem"], registered["sims"], registered["transform"], out)
    server = make_server(view)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out.write_text("theirs\n")
        status, doc = _post(f"http://127.0.0.1:{server.server_address[1]}/api/landmarks",
                            json.dumps(PAIRS).encode(), server.token)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert status == 409 and "another program" in doc["error"]["message"] and "--force" in doc["error"]["message"]
    assert out.read_text() == "theirs\n"


def test_write_is_atomic_when_it_fails(registered, tmp_path, monkeypatch):
    """A failure while writing leaves the previous file as it was and no temporary file."""
    from ionscope.io import atomic

    out = tmp_path / "lm.csv"
    view = pair_view(registered["sem"], registered["sims"], registered["transform"], out)
    view.save_landmarks(PAIRS)
    before = out.read_text()

    def broken(tmp, target):
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "_replace", broken)
    with pytest.raises(OSError, match="disk full"):
        view.save_landmarks(PAIRS[:3])
    assert out.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["lm.csv"]
