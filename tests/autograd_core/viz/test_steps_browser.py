"""The step-through page in a real headless Chromium (Selenium), at projector size.

It must work as a lecturer uses it on a 1280x800 projector: the arrow keys and the
buttons move the step, the active (orange) op changes and is scrolled into view, the
graph is scaled but never so far that the edge labels become unreadable, captions are
one line and nothing overflows the window. Skipped, saying why, only where there is
no browser (CI installs Debian's chromium and chromium-driver: scripts/ensure_browser.sh).
"""

import os
import shutil

import numpy as np
import pytest

selenium = pytest.importorskip(
    "selenium", reason="selenium is not installed (pip install -e '.[test]')")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

import autograd_core as ag  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from autograd_core.viz import render_steps  # noqa: E402
from autograd_core.viz.stepthrough import MIN_SCALE  # noqa: E402

from .helpers import neuron  # noqa: E402

WIDTH, HEIGHT = 1280, 800


def _browser_paths():
    chrome = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                   if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    return chrome, driver


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is missing: render_steps cannot draw the pictures")
    chrome, driver = _browser_paths()
    if chrome is None or driver is None:
        pytest.skip("no headless browser here: install Chromium and its driver "
                    "(sh scripts/ensure_browser.sh, i.e. apt-get install chromium "
                    "chromium-driver) to run the step-through page test")
    # Both paths are given, so Selenium Manager (which downloads drivers and sends
    # usage statistics) never runs; say so to it anyway.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    try:
        service = webdriver.ChromeService(executable_path=driver)
        drv = webdriver.Chrome(service=service, options=options)
    except WebDriverException as error:  # installed but cannot start: say so, loudly
        pytest.fail(f"Chromium is installed but did not start: {error.msg}")
    drv.set_window_size(WIDTH, HEIGHT)
    yield drv
    drv.quit()


def _mlp_page(tmp_path):
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = ag.Tensor(rng.normal(size=(5, 4)).astype("float32"))
    loss = F.cross_entropy(model(x), np.array([0, 2, 1, 1, 0]))
    loss.backward()
    return render_steps(loss, tmp_path / "mlp", params=model), 4


def _state(drv) -> dict:
    return drv.execute_script("""
        var frame = document.querySelector('.frame.current');
        var active = frame.querySelector('.active');
        var stage = document.getElementById('stage').getBoundingClientRect();
        var a = active ? active.getBoundingClientRect() : null;
        var cap = document.getElementById('caption');
        var label = null;  // an edge label: a node whose graphviz title is e<k>
        frame.querySelectorAll('g.node').forEach(function (g) {
          var t = g.querySelector('title');
          if (!label && t && /^e[0-9]+$/.test(t.textContent)) label = g.querySelector('text');
        });
        return {
          position: document.getElementById('position').textContent,
          frame: frame.id,
          active: active ? active.querySelector('title').textContent : null,
          activeVisible: !!a && a.left >= stage.left - 1 && a.right <= stage.right + 1 &&
                         a.top >= stage.top - 1 && a.bottom <= stage.bottom + 1,
          pageScrollW: document.documentElement.scrollWidth,
          pageScrollH: document.documentElement.scrollHeight,
          innerW: window.innerWidth, innerH: window.innerHeight,
          captionLines: Math.round(cap.getBoundingClientRect().height / 20),
          captionText: cap.textContent,
          headerBottom: document.querySelector('header').getBoundingClientRect().bottom,
          scale: parseFloat(frame.dataset.scale),
          labelPx: label ? label.getBoundingClientRect().height : null,
        };
    """)


def _check_layout(state):
    # Nothing overflows the window: the page never scrolls, only the stage does.
    assert state["pageScrollW"] <= state["innerW"], state
    assert state["pageScrollH"] <= state["innerH"], state
    assert state["captionLines"] == 1 and state["captionText"], state
    assert state["headerBottom"] < 0.15 * HEIGHT, state  # the graph gets the room
    assert state["scale"] >= MIN_SCALE - 1e-3, state  # labels are never shrunk away
    assert state["labelPx"] is None or state["labelPx"] >= 9, state  # 10 pt -> >= 9 px
    assert state["activeVisible"], state  # scrolled to the active op


def test_keys_and_buttons_move_the_step_and_the_active_op(browser, tmp_path):
    index, n_steps = _mlp_page(tmp_path)
    browser.get(index.resolve().as_uri())
    first = _state(browser)
    assert first["position"] == f"step 1 of {n_steps}" and first["frame"] == "step1"
    _check_layout(first)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    second = _state(browser)
    assert second["position"] == f"step 2 of {n_steps}"
    assert second["active"] != first["active"]  # another op is orange now
    _check_layout(second)
    browser.find_element(By.ID, "next").click()
    third = _state(browser)
    assert third["position"] == f"step 3 of {n_steps}" and third["active"] not in (
        first["active"], second["active"])
    _check_layout(third)
    browser.find_element(By.ID, "prev").click()
    assert _state(browser)["active"] == second["active"]
    body.send_keys(Keys.END)
    last = _state(browser)
    assert last["position"] == f"step {n_steps} of {n_steps}"
    assert browser.find_element(By.ID, "next").get_attribute("disabled")
    _check_layout(last)
    body.send_keys(Keys.HOME)
    assert _state(browser)["position"] == f"step 1 of {n_steps}"
    assert browser.find_element(By.ID, "prev").get_attribute("disabled")
    if os.environ.get("AUTOGRAD_VIZ_SCREENSHOT"):  # for looking at it by hand
        browser.save_screenshot(os.environ["AUTOGRAD_VIZ_SCREENSHOT"])


def test_a_large_graph_scrolls_inside_the_stage_to_the_active_op(browser, tmp_path):
    # A long chain is far taller than 800 px at MIN_SCALE: the stage scrolls, the page
    # does not, and each step brings its op into view.
    x = ag.Tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(12):
        y = (y * 1.1).tanh()
    index = render_steps(y, tmp_path / "chain", rankdir="TB")
    browser.get(index.resolve().as_uri())
    body = browser.find_element(By.TAG_NAME, "body")
    seen = set()
    for _ in range(6):
        state = _state(browser)
        _check_layout(state)
        seen.add(state["active"])
        body.send_keys(Keys.ARROW_RIGHT)
    assert len(seen) == 6


def test_the_neuron_page_names_the_root_L(browser, tmp_path):
    L, _ = neuron()
    L.name = None  # unnamed: the page calls it L, as the picture and the flat code do
    index = render_steps(L, tmp_path / "neuron")
    browser.get(index.resolve().as_uri())
    state = _state(browser)
    assert "∂L/∂L = 1" in state["captionText"], state
    _check_layout(state)
