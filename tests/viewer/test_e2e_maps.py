"""End-to-end: the Maps view in headless Chromium — a D* map with its log colour bar in cm²/s, a hover value
± 1σ, an interface-depth map in nm and a cube's side view (skips without Chromium or Playwright)."""

from __future__ import annotations

import pytest

from .test_e2e import ARTIFACTS, TIMEOUT_MS, _at, _shot, _stats, _wait, browser, context  # noqa: F401
from .test_maps import stores  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a browser per module: not in the fast subset


@pytest.fixture(scope="module")
def map_server(stores):  # noqa: F811
    from ionscope.viewer import make_server, serve_in_thread

    srv = make_server([stores["root"]])
    serve_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def mpage(context, map_server):  # noqa: F811
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(map_server.url)
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    pg.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_d_map_colour_bar_and_hover_value_with_uncertainty(mpage, stores, map_server):  # noqa: F811
    ids = {e.path.name: e.id for e in map_server.catalogue.entries()}
    mpage.click(f"#catalogue li[data-id='{ids['D.zarr']}']")
    mpage.wait_for_selector("body[data-view='maps'] #mp-canvas[data-var='D'][data-scale='log']")
    bar = mpage.locator("#mp-colourbar")
    assert bar.get_attribute("data-unit") == "cm^2/s" and int(bar.get_attribute("data-ticks")) >= 2
    assert _stats(mpage, "#mp-canvas")["std"] > 5  # the D field varies across the map
    D = stores["D"]
    row, col = 3, 6
    fy, fx = (row + 0.5) / D.sizes["y"], (col + 0.5) / D.sizes["x"]
    mpage.mouse.move(*_at(mpage, "#mp-canvas", fx, fy))
    _wait(mpage, f"document.querySelector('#mp-hover').dataset.row === '{row}' && "
                 f"document.querySelector('#mp-hover').dataset.col === '{col}'")
    out = mpage.locator("#mp-hover")
    assert float(out.get_attribute("data-value")) == pytest.approx(float(D["D"][row, col]), rel=1e-9)
    assert float(out.get_attribute("data-uncertainty")) == pytest.approx(float(D["D_uncertainty"][row, col]),
                                                                         rel=1e-9)
    text = out.inner_text()
    assert text.startswith("D* = (") and "±" in text and "cm²/s" in text and "µm" in text
    _shot(mpage, "maps_D")


def test_interface_depth_map_and_cube_side_view(mpage, stores, map_server):  # noqa: F811
    ids = {e.path.name: e.id for e in map_server.catalogue.entries()}
    mpage.click("#tabs button[data-view='maps']")
    mpage.select_option("#mp-dataset", ids["maps.zarr"])
    mpage.select_option("#mp-var", "interface_Li2O-")
    mpage.wait_for_selector("#mp-canvas[data-var='interface_Li2O-'][data-unit='nm'][data-scale='linear']")
    mpage.mouse.move(*_at(mpage, "#mp-canvas", 0.5, 0.5))
    _wait(mpage, "document.querySelector('#mp-hover').textContent.includes('nm')")
    assert "±" in mpage.inner_text("#mp-hover")
    mpage.select_option("#mp-dataset", ids["cube.zarr"])
    mpage.wait_for_selector("#mp-plane-box:not([hidden]) ~ #mp-index-box:not([hidden])")
    mpage.wait_for_selector("#mp-canvas[data-var='side_xz']")
    assert mpage.get_attribute("#mp-canvas", "data-rows") == str(stores["cube"].sizes["scan"])
    mpage.select_option("#mp-plane", "yz")
    mpage.wait_for_selector("#mp-canvas[data-var='side_yz']")
    assert "depth" in mpage.inner_text("#mp-axes")
    _shot(mpage, "maps_side_view")
