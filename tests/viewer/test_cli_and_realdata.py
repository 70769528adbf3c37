"""`ionscope view` on the command line, and the viewer on the real files of ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest

from ..conftest import shared_data


@pytest.fixture
def no_serving(monkeypatch):
    """Make serve_forever return at once and record what the browser would have been asked to open."""
    from ionscope.viewer.server import ViewerServer

    opened: list[str] = []
    monkeypatch.setattr(ViewerServer, "serve_forever", lambda self, poll_interval=0.5: None)
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url))
    return opened


def test_view_prints_the_tokenised_url_and_opens_the_browser(cli, samples, no_serving):
    import time

    code, out, err = cli("view", samples["spectrum"], samples["broken"].parent)  # a folder holding the broken store
    assert code == 0
    url = next(line for line in out.splitlines() if line.startswith("http://127.0.0.1:"))
    assert "/?token=" in url and len(url.split("token=")[1]) >= 24
    assert "broken.zarr" in err and "could not load" in err
    for _ in range(50):  # the browser is opened by a short timer thread
        if no_serving:
            break
        time.sleep(0.02)
    assert no_serving == [url]


@pytest.mark.parametrize("bad", ["missing", "broken", "not_data", "empty_folder"])
def test_view_refuses_a_named_dataset_it_cannot_load(cli, samples, no_serving, tmp_path, monkeypatch, bad):
    """A path given by name that cannot be loaded (or paths of which none loads): one ionscope error line
    naming it, exit code 2, and no server is started."""
    from ionscope.viewer.server import ViewerServer

    served: list[object] = []
    monkeypatch.setattr(ViewerServer, "serve_forever", lambda self, poll_interval=0.5: served.append(self))
    (tmp_path / "LICENSE").write_text("Creative Commons Attribution 4.0\n")
    (tmp_path / "empty").mkdir()
    path = {"missing": tmp_path / "nosuch.zarr", "broken": samples["broken"], "not_data": tmp_path / "LICENSE",
            "empty_folder": tmp_path / "empty"}[bad]
    extra = [] if bad == "empty_folder" else [samples["volume"]]  # a good dataset beside does not excuse it
    code, out, err = cli("view", "--no-browser", *extra, path)
    assert code == 2 and served == [] and "token=" not in out
    assert err.startswith("error: ") and path.name in err and len(err.strip().splitlines()) == 1, err


def test_view_no_browser(cli, samples, no_serving):
    code, out, _ = cli("view", "--no-browser", "--port", "0", samples["volume"])
    assert code == 0 and "token=" in out and no_serving == []


def test_allow_remote_warns(monkeypatch, cli, samples, no_serving):
    """A non-loopback bind with --allow-remote prints a warning (bound to 127.0.0.2, a loopback alias,
    with is_loopback patched, so the test opens nothing to the network)."""
    import ionscope.viewer.server as srv

    monkeypatch.setattr(srv, "is_loopback", lambda host: False)
    code, _, err = cli("view", "--no-browser", "--host", "127.0.0.1", "--allow-remote", samples["volume"])
    assert code == 0 and "warning" in err and "not loopback" in err


@pytest.mark.realdata
def test_real_nmc_volume_slices():
    import tifffile

    from ionscope.viewer import make_server
    from ionscope.viewer.slicing import image_of

    path = shared_data("microstructure", "nmc_electrode_3phase_256.tiff")
    srv = make_server([path])
    try:
        (entry,) = srv.catalogue.entries()
        assert entry.ok, entry.error
        assert entry.kind == "volume"
        img, head = image_of(entry.data, entry.kind, {"axis": "z", "index": 128})
        np.testing.assert_array_equal(img, tifffile.imread(path, key=128).astype(np.float32))
        assert head["shape"] == [256, 256] and all(p > 0 for p in head["pixel_um"])
        # a three-phase segmentation (0 / 85 / 170) is recognised and gets a label overlay and legend
        desc = entry.describe()
        assert desc["has_labels"] and sorted(desc["phases"].values()) == [0, 85, 170]
    finally:
        srv.server_close()


@pytest.mark.realdata
def test_real_depth_profile_export_opens_or_says_why():
    """An IONTOF export: a depth profile once its reader is merged, else an error entry naming the file."""
    from ionscope.viewer import make_server

    path = shared_data("iontof_depth_profiles", "MAPI-stack", "I241209m_A_MAPI_1f-1nA_pos-B4.txt")
    srv = make_server([path])
    try:
        (entry,) = srv.catalogue.entries()
        if entry.ok:
            assert entry.kind == "depth_profile"
        else:
            assert path.name in entry.error
    finally:
        srv.server_close()
