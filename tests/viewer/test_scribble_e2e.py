"""End-to-end: scribble labels with the mouse in headless Chromium (Playwright), save, continue, save again.

Skips like the other browser tests without Chromium or Playwright (see ``test_e2e.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from .test_e2e import _at, _pixel, _shot, _wait, browser, context  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TIMEOUT_MS = 15_000
Z = "#vo-panels canvas[data-axis='z']"


@pytest.fixture(scope="module")
def stack_server(tmp_path_factory):
    """A viewer on a folder holding one simulated FIB-SEM stack (6 × 48 × 64 voxels of 0.1 µm)."""
    from ionscope.io.tiff import write_tiff
    from ionscope.synth.fibsem import image_stack, three_phase_electrode
    from ionscope.viewer import make_server, serve_in_thread

    vol, _ = three_phase_electrode((6, 48, 64), seed=2)
    img, _ = image_stack(np.asarray(vol.values), drift_step_px=0.0, seed=3)
    d = tmp_path_factory.mktemp("scribble_e2e")
    write_tiff(img.astype(np.float32), d / "fib.tif")
    srv = make_server([d])
    serve_in_thread(srv)
    yield srv, d
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def page(context, stack_server):  # noqa: F811
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(stack_server[0].url)
    pg.wait_for_selector("body[data-ready='1']")
    _wait(pg, f"document.querySelector(\"{Z}\") && document.querySelector(\"{Z}\").dataset.index")
    yield pg
    pg.close()
    assert not errors, f"JavaScript errors: {errors}"


def _stroke(page, fy: float, x0: float, x1: float) -> None:
    """Drag across the z panel at height fy from x0 to x1 (fractions), in several mouse moves."""
    page.mouse.move(*_at(page, Z, x0, fy))
    page.mouse.down()
    for t in np.linspace(0, 1, 8)[1:]:
        page.mouse.move(*_at(page, Z, x0 + t * (x1 - x0), fy))
    page.mouse.up()


def _go_to_slice(page, z: int) -> None:
    page.evaluate("v => { const s = document.getElementById('vo-z'); s.value = v; "
                  "s.dispatchEvent(new Event('input')); }", z)
    _wait(page, f"+document.querySelector(\"{Z}\").dataset.index === {z}")


_CENTRE_IS_RED = (f"(() => {{ const c = document.querySelector(\"{Z}\"); "
                  "const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data; "
                  "return d[0] - d[2] > 40; })()")


def _strokes_on_slice(page) -> int:
    return int(page.evaluate(f"+document.querySelector(\"{Z}\").dataset.strokes"))


def test_draw_move_undo_save_and_continue(page, stack_server):
    from ionscope.io.zarr_store import load

    _, folder = stack_server
    assert page.evaluate("document.body.dataset.view") == "volume"
    page.check("#lb-on")
    page.fill("#lb-new-name", "pore")
    page.click("#lb-add")
    page.fill("#lb-new-name", "solid")
    page.fill("#lb-new-colour", "#0000ff")
    page.click("#lb-add")
    assert page.locator("#lb-class option").count() == 2
    page.select_option("#lb-class", "1")
    before = _pixel(page, Z, 0.5, 0.5)
    _stroke(page, 0.5, 0.2, 0.8)  # class 1 (pore, red) across the middle row of z = 3
    assert _strokes_on_slice(page) == 1
    after = _pixel(page, Z, 0.5, 0.5)
    assert after[0] - after[2] > before[0] - before[2] + 40  # the red overlay, semi-transparent over grey
    # the y = 24 and x = 32 slices show where the stroke crosses them, in row z = 3 (6 slices: fy = 3.5 / 6)
    y_panel, x_panel = "#vo-panels canvas[data-axis='y']", "#vo-panels canvas[data-axis='x']"
    assert page.evaluate(f"+document.querySelector(\"{y_panel}\").dataset.crossed") >= 36  # x ≈ 13…51
    assert 5 <= page.evaluate(f"+document.querySelector(\"{x_panel}\").dataset.crossed") <= 7  # y = 21…26
    crossing, beside = _pixel(page, y_panel, 0.5, 3.5 / 6), _pixel(page, y_panel, 0.05, 3.5 / 6)
    assert crossing[0] - crossing[2] > 40 and beside[0] - beside[2] < 40
    # another slice: no stroke there; back: the stroke is kept
    z0 = int(page.evaluate(f"+document.querySelector(\"{Z}\").dataset.index"))
    _go_to_slice(page, z0 + 1)
    assert _strokes_on_slice(page) == 0
    page.select_option("#lb-class", "2")
    _stroke(page, 0.25, 0.1, 0.4)  # class 2 on slice z0 + 1 …
    _stroke(page, 0.75, 0.1, 0.4)  # … and one more, undone
    assert page.evaluate("+document.getElementById('lb-info').dataset.strokes") == 3
    page.click("#lb-undo")
    assert page.evaluate("+document.getElementById('lb-info').dataset.strokes") == 2
    _go_to_slice(page, z0)
    assert _strokes_on_slice(page) == 1
    _shot(page, "scribble_drawn")
    page.click("#lb-save")
    _wait(page, "document.getElementById('lb-info').dataset.saved === 'fib.labels.zarr'")
    lab = load(folder / "fib.labels.zarr")
    v = np.asarray(lab.values)
    assert lab.attrs["classes"] == ["pore", "solid"] and lab.attrs["class_colours"][1] == "#0000ff"
    # the pore stroke: the middle row (y = 24) of slice z0 from x ≈ 13 to 51, brush radius 3 voxels
    assert np.all(v[z0, 24, 15:50] == 1) and v[z0, 24 + 5, 30] == 0
    assert np.all(v[z0 + 1, 12, 8:24] == 2) and not np.any(v[z0 + 1, 30:42, :] == 2)  # the undone stroke is not saved
    assert set(np.unique(v[[k for k in range(6) if k not in (z0, z0 + 1)]])) == {0}
    # the saved labels show again (from the file) and a new stroke adds to them: the page asks before replacing
    assert _strokes_on_slice(page) == 0
    _wait(page, _CENTRE_IS_RED)  # the file's labels are fetched and drawn asynchronously after the save
    page.select_option("#lb-class", "1")
    _stroke(page, 0.9, 0.1, 0.3)
    page.once("dialog", lambda d: d.accept())
    page.click("#lb-save")
    _wait(page, "+document.getElementById('lb-info').dataset.strokes === 0")
    v2 = np.asarray(load(folder / "fib.labels.zarr").values)
    assert np.all(v2[z0, 24, 15:50] == 1) and np.all(v2[z0, 43, 8:16] == 1)
    _shot(page, "scribble_saved")


@pytest.fixture
def saved_labels(stack_server):
    """The label file the previous test saves first — class 1 (pore, red) across the middle row of z = 3 —
    written here when that test ran on another xdist worker (before the page loads, which looks for it)."""
    import ionscope
    from ionscope.viewer.scribble import LabelRequest, Stroke, save_labels

    stack = stack_server[1] / "fib.tif"
    if (stack_server[1] / "fib.labels.zarr").exists():
        return
    stroke = Stroke("z", 3, 1, 3.0, np.array([[13.0, 24.0], [51.0, 24.0]]))
    save_labels(ionscope.read(stack), stack, LabelRequest(["pore", "solid"], ["#ff0000", "#0000ff"], [stroke]))


def test_load_saved_labels_to_continue(saved_labels, page, stack_server):
    _, folder = stack_server
    page.check("#lb-on")
    _wait(page, "!document.getElementById('lb-load').disabled")
    page.click("#lb-load")
    _wait(page, "document.querySelectorAll('#lb-class option').length === 2")
    assert page.locator("#lb-legend li").first.text_content() == "pore (1)"
    _wait(page, _CENTRE_IS_RED)
    # declining the overwrite keeps the file
    page.select_option("#lb-class", "2")
    _stroke(page, 0.1, 0.6, 0.9)
    page.once("dialog", lambda d: d.dismiss())
    page.click("#lb-save")
    _wait(page, "document.getElementById('status').textContent.includes('not saved')")
    assert page.evaluate("+document.getElementById('lb-info').dataset.strokes") == 1
