"""End-to-end: the viewer in a real headless Chromium (Debian's ``chromium``) driven by Playwright.

Each test loads the app, clicks through the linked interactions and checks what was drawn (canvas
pixels and DOM state). Screenshots go to ``tests/_artifacts/`` for a developer to look at.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from ..conftest import CHROMIUM_ARGS, chromium_executable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a browser per module: not in the fast subset

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    exe = chromium_executable()
    if exe is None:
        pytest.skip("no Chromium found (/usr/bin/chromium or $IONSCOPE_CHROMIUM): e2e viewer tests skipped; "
                    "install Debian's `chromium` (make test does it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]'): e2e viewer tests skipped")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, server):
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    pg.close()
    assert not errors, f"JavaScript errors: {errors}"


def _stats(page, selector: str) -> dict[str, float]:
    """Mean and spread of a canvas's pixels (sum of RGB), and each channel's mean."""
    return page.evaluate("""sel => {
        const c = document.querySelector(sel), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0, s2 = 0, r = 0, g = 0, b = 0; const n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) {
            const v = d[i] + d[i+1] + d[i+2]; s += v; s2 += v*v; r += d[i]; g += d[i+1]; b += d[i+2];
        }
        return {mean: s/n, std: Math.sqrt(Math.max(0, s2/n - (s/n)**2)), r: r/n, g: g/n, b: b/n};
    }""", selector)


def _pixel(page, selector: str, fx: float, fy: float) -> list[int]:
    """RGB at fractional position (fx, fy) of a canvas."""
    return page.evaluate("""([sel, fx, fy]) => {
        const c = document.querySelector(sel);
        const px = c.getContext('2d').getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1);
        return Array.from(px.data.slice(0, 3));
    }""", [selector, fx, fy])


def _at(page, selector: str, fx: float, fy: float) -> tuple[float, float]:
    """Page coordinates of fractional position (fx, fy) of an element."""
    box = None
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while box is None:  # None while a re-render swaps the element; wait for the new one
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} has no bounding box")
        box = page.locator(selector).bounding_box()
        if box is None:
            page.wait_for_timeout(50)
    return box["x"] + fx * box["width"], box["y"] + fy * box["height"]


def _drag(page, selector: str, a: tuple[float, float], b: tuple[float, float]) -> None:
    page.mouse.move(*_at(page, selector, *a))
    page.mouse.down()
    page.mouse.move(*_at(page, selector, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
    page.mouse.move(*_at(page, selector, *b))
    page.mouse.up()


def _wait(page, expr: str, timeout: float = TIMEOUT_MS / 1000) -> None:
    """Poll a JS expression until truthy (page.wait_for_function would need 'unsafe-eval' under our CSP)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expr})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expr}")
        page.wait_for_timeout(50)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"viewer_{name}.png"))


def _particle(truth) -> tuple[float, float, float]:
    """Centre (fy, fx) as fractions of the image and radius fraction of the largest particle."""
    discs = truth.truth["discs_px"]
    cy, cx, r = discs[np.argmax(discs[:, 2])]
    ny, nx = truth.truth["labels"].shape
    return cy / ny, cx / nx, r / nx


def test_ion_images_panels_log_rgb_and_export(page):
    from ionscope.synth.images import composite_cross_section

    _, truth = composite_cross_section(seed=1)
    page.wait_for_selector("#im-panels[data-count='3']")
    assert page.evaluate("document.body.dataset.view") == "images"
    ni = "#im-panels canvas[data-species='^58Ni+']"
    fy, fx, _ = _particle(truth)
    inside, outside = _pixel(page, ni, fx, fy), _pixel(page, ni, 0.02, 0.02)
    # viridis: Ni-rich cathode particle (120 counts) is drawn brighter than electrolyte (2 counts)
    inside_phase = truth.truth["phase"][int(fy * 128), int(fx * 128)]
    assert inside_phase == 1
    assert sum(inside) > sum(outside) + 100 or truth.truth["phase"][2, 2] == 1
    white = page.evaluate("""sel => {
        const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(c.width / 2, c.height - 14, c.width / 2, 10).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] === 255 && d[i+1] === 255 && d[i+2] === 255) n++;
        return n;
    }""", ni)
    assert white > 40  # the white µm scale bar (viridis has no white) in the bottom-right corner
    lin = _stats(page, ni)
    page.select_option("#im-scale", "log")
    _wait(page, "document.querySelector('#im-panels .hint').textContent.includes('log')")
    assert abs(_stats(page, ni)["mean"] - lin["mean"]) > 5  # log stretch brightens the low counts
    _shot(page, "images_panels")
    page.select_option("#im-mode", "rgb")
    page.wait_for_selector("#im-panels canvas[data-mode='rgb']")
    rgb = _stats(page, "#im-panels canvas[data-mode='rgb']")
    assert rgb["r"] > 20 and rgb["g"] > 20 and rgb["b"] > 5  # Li (R), Ni (G), Co (B) all contribute
    _shot(page, "images_rgb")
    with page.expect_download() as dl:
        page.click("#im-export")
    path = ARTIFACTS / "viewer_export.png"
    dl.value.save_as(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spectrum_zoom_and_peak_click_opens_its_ion_image(page, client):
    page.click("#tabs button[data-view='spectrum']")
    page.select_option("#sp-dataset", client.ids["spectrum"])
    page.wait_for_selector(f"#sp-canvas[data-peaks='5'][data-dataset='{client.ids['spectrum']}']")
    assert "positive ions" in page.text_content("#sp-labelling")  # the labels' polarity is shown
    _shot(page, "spectrum")
    plot = "ionscope.views.spectrum.plot"
    x50, x65 = page.evaluate(f"[{plot}.xMap(50) / {plot}.c.width, {plot}.xMap(65) / {plot}.c.width]")
    _drag(page, "#sp-canvas", (x50, 0.5), (x65, 0.5))
    _wait(page, f"{plot}.view !== null && {plot}.series[0].x.length > 2000 && {plot}.series[0].x[0] > 49")
    lo, hi = page.evaluate(f"[Math.min(...{plot}.series[0].x), Math.max(...{plot}.series[0].x)]")
    assert 49.9 < lo and hi < 65.1  # re-fetched at full resolution within the zoom window
    xni = page.evaluate(f"{plot}.xMap(57.935) / {plot}.c.width")
    page.mouse.click(*_at(page, "#sp-canvas", xni, 0.5))
    page.wait_for_selector("body[data-view='images'] #im-panels[data-count='1']")
    assert page.get_attribute("#im-panels canvas", "data-species") == "^58Ni+"
    assert page.input_value("#im-dataset") == client.ids["cross_section"]
    _shot(page, "spectrum_to_image")


def test_hyperspectral_cube_shows_its_total_ion_image_and_any_mz_window(page, client):
    """A hyperspectral cube (a flat TRIFT .npz, a processed imzML) opens on its total-ion image; an m/z
    typed with its half-width adds that window's image. The sample's channel 50 (m/z 26) holds y·100 + x
    counts and the 199 others 1 count, so the total peaks at 1929 + 199 and the window at 1929."""
    page.click("#tabs button[data-view='images']")
    page.select_option("#im-dataset", client.ids["hyperspectral"])
    total = "#im-panels canvas[data-species='total ions']"
    page.wait_for_selector(total)
    assert page.is_visible("#im-mz-box")
    page.uncheck("#im-shared")
    _wait(page, f"document.querySelector(\"{total}\") && +document.querySelector(\"{total}\").dataset.max === 2128")
    page.fill("#im-mz", "26")
    page.fill("#im-mz-half", "0.1")
    page.click("#im-mz-add")
    window = "#im-panels canvas[data-species='m/z 26 ± 0.1']"
    page.wait_for_selector(window)
    assert float(page.get_attribute(window, "data-max")) == 1929
    # y·100 + x: bright low on the image, dark at the top (viridis green rises with the value; the scale bar
    # sits in the bottom-right corner, away from both points)
    assert _pixel(page, window, 0.6, 0.8)[1] > _pixel(page, window, 0.05, 0.05)[1] + 100
    _shot(page, "images_hyperspectral")
    # its 0.5 m/z channels cannot tell the ions of one nominal mass apart, and it records no polarity: the
    # spectrum view says so under the plot
    page.click("#tabs button[data-view='spectrum']")
    page.select_option("#sp-dataset", client.ids["hyperspectral"])
    page.wait_for_selector(f"#sp-canvas[data-dataset='{client.ids['hyperspectral']}']")
    note = page.text_content("#sp-labelling")
    assert "nominal mass" in note and "polarity not recorded" in note, note
    page.click("#tabs button[data-view='images']")
    page.check("#im-shared")
    page.select_option("#im-dataset", client.ids["cross_section"])
    page.wait_for_selector("#im-panels canvas[data-species='^58Ni+']")
    assert not page.is_visible("#im-mz-box")  # only a cube with an m/z axis takes a typed window


def test_roi_rectangle_and_polygon_give_the_roi_spectrum(page):
    page.wait_for_selector("#im-panels[data-count='3']")
    canvas = "#im-panels canvas[data-species='^7Li+']"
    _drag(page, canvas, (0.25, 0.25), (0.5, 0.5))
    page.wait_for_selector("#im-roi-plot[data-pixels]")
    rect_px = int(page.get_attribute("#im-roi-plot", "data-pixels"))
    assert 900 < rect_px < 1300  # a quarter-width square of 128 × 128 pixels ≈ 32² = 1024
    assert _stats(page, "#im-roi-plot")["std"] > 5
    page.select_option("#im-roi", "polygon")
    for fx, fy in ((0.1, 0.1), (0.6, 0.1), (0.1, 0.6)):
        page.mouse.click(*_at(page, canvas, fx, fy))
    page.mouse.dblclick(*_at(page, canvas, 0.1, 0.6))
    _wait(page, f"document.querySelector('#im-roi-plot').dataset.pixels !== '{rect_px}'")
    tri_px = int(page.get_attribute("#im-roi-plot", "data-pixels"))
    assert 0.8 * 2048 < tri_px < 1.2 * 2048  # right triangle with legs of 0.5 × 128 pixels
    _shot(page, "roi_spectrum")


def test_cube_roi_depth_profile_links_to_the_depth_view(page, client):
    page.select_option("#im-dataset", client.ids["cube"])
    page.wait_for_selector("#im-scan-box:not([hidden])")
    page.select_option("#im-roi-what", "profile")
    _wait(page, "document.querySelectorAll('#im-panels canvas').length === 3")
    first = _stats(page, "#im-panels .panel:first-child canvas")
    page.fill("#im-scan", "55")  # below 400 nm: the current collector, counts collapse
    _wait(page, "document.querySelector('#im-scan-val').textContent.startsWith('55')")
    page.wait_for_selector("#im-panels:not([data-busy]) .panel:first-child canvas[data-scan='55']")
    assert _stats(page, "#im-panels .panel:first-child canvas")["mean"] != first["mean"]
    _drag(page, "#im-panels .panel:first-child canvas", (0.1, 0.1), (0.4, 0.4))
    page.wait_for_selector("body[data-view='depth']")
    _wait(page, "document.querySelector('#dp-source').textContent.includes('ROI')")
    assert int(page.get_attribute("#dp-canvas", "data-interfaces")) >= 1
    _shot(page, "cube_roi_profile")


def test_depth_profile_toggles_axis_and_interfaces(page, client):
    page.click("#tabs button[data-view='depth']")
    page.select_option("#dp-dataset", client.ids["depth_profile"])
    page.wait_for_selector("#dp-canvas[data-interfaces='2'][data-layers='3'][data-visible='5']")
    _shot(page, "depth")
    before = _stats(page, "#dp-canvas")
    page.uncheck("#dp-species input[data-species='^58Ni+']")
    page.wait_for_selector("#dp-canvas[data-visible='4']")
    assert _stats(page, "#dp-canvas")["mean"] != before["mean"]
    page.select_option("#dp-axis", "depth")
    page.wait_for_selector("#dp-canvas[data-axis='depth']")
    assert page.evaluate("ionscope.views.depth.plot.marks.map(m => Math.round(m.x))") == [120, 320]
    page.select_option("#dp-scale", "lin")
    page.uncheck("#dp-annot")
    page.wait_for_selector("#dp-canvas[data-interfaces='0']")


def test_operando_slider_curve_and_roi_trajectory(page, client):
    page.click("#tabs button[data-view='operando']")
    page.wait_for_selector("#op-panels canvas[data-state='0']")
    li = "#op-panels canvas[data-species='^7Li+']"
    first = _stats(page, li)
    page.fill("#op-state", "20")
    page.dispatch_event("#op-state", "input")
    page.wait_for_selector("#op-curve[data-state='20']")
    page.wait_for_selector("#op-panels canvas[data-state='20']")
    assert page.evaluate("ionscope.views.operando.curvePlot.marks[0].x") == pytest.approx(
        page.evaluate("ionscope.views.operando.xs().x[20]"))
    assert _stats(page, li)["mean"] != first["mean"]
    fx = page.evaluate("(p => p.xMap(p.series[0].x[5]) / p.c.width)(ionscope.views.operando.curvePlot)")
    page.mouse.click(*_at(page, "#op-curve", fx, 0.5))
    page.wait_for_selector("#op-curve[data-state='5']")
    assert page.input_value("#op-state") == "5"
    page.wait_for_selector("#op-panels canvas[data-state='5']")
    whole = int(page.get_attribute("#op-traj", "data-pixels"))
    _drag(page, li, (0.2, 0.2), (0.5, 0.5))
    _wait(page, f"document.querySelector('#op-traj').dataset.pixels !== '{whole}'")
    assert 0 < int(page.get_attribute("#op-traj", "data-pixels")) < whole
    _shot(page, "operando")


def test_volume_slices_and_label_overlay(page, client):
    page.click("#tabs button[data-view='volume']")
    page.wait_for_selector("#vo-panels canvas[data-axis='z'][data-overlay='1']")
    assert page.locator("#vo-legend li").count() == 3
    assert "NMC" in page.inner_text("#vo-legend")
    z = "#vo-panels canvas[data-axis='z']"
    before = _stats(page, z)
    page.fill("#vo-z", "5")
    page.dispatch_event("#vo-z", "input")
    page.wait_for_selector(f"{z}[data-index='5']")
    assert _stats(page, z)["mean"] != before["mean"]
    _shot(page, "volume")
    with_labels = _stats(page, z)
    page.uncheck("#vo-overlay")
    page.wait_for_selector(f"{z}[data-overlay='0']")
    grey = _stats(page, z)
    assert abs(grey["r"] - grey["b"]) < 1 and abs(with_labels["r"] - with_labels["b"]) > 3  # colour only with labels


def test_failed_dataset_shows_an_error_panel(page, samples):
    page.click("#catalogue li.error")
    page.wait_for_selector("#error-panel:not([hidden])")
    text = page.inner_text("#error-panel")
    assert "broken.zarr" in text and "Zarr metadata" in text
    assert str(samples["broken"].parent) not in text  # named relative to the folder given to the viewer
    _shot(page, "error")


@pytest.mark.realdata
def test_real_depth_profile_with_blank_cells_draws(context):
    """A real IONTOF export (a `total` column without m/z, blank intensity cells sent as null) draws
    its species and the interfaces the API reports, without a JavaScript error."""
    import json
    import urllib.request

    from ionscope.viewer import make_server, serve_in_thread

    from ..conftest import shared_data

    path = shared_data("iontof_depth_profiles", "MAPI-stack", "I241209m_A_MAPI_1f-1nA_pos-B4.txt")
    srv = make_server([path])
    serve_in_thread(srv)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        req = urllib.request.Request(srv.url.replace("/?token=", "/api/datasets/d0/profile?token="))
        with urllib.request.urlopen(req, timeout=60) as r:
            prof = json.loads(r.read())
        n_interfaces = len(prof["annotations"]["sputter_time"]["interfaces"])
        assert any(v is None for row in prof["counts"] for v in row)  # the blank cells
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(srv.url)
        pg.wait_for_selector("body[data-ready='1']")
        pg.wait_for_selector(f"#dp-canvas[data-interfaces='{n_interfaces}']")
        assert int(pg.get_attribute("#dp-canvas", "data-visible")) > 0
        assert _stats(pg, "#dp-canvas")["std"] > 1  # something was drawn
        _shot(pg, "depth-real")
    finally:
        pg.close()
        srv.shutdown()
        srv.server_close()
    assert not errors, f"JavaScript errors: {errors}"
