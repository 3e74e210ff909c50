"""Every page in headless Chromium (Debian's, through playwright; no browser is downloaded): no exception on the
page, and a screenshot of each under reports/screens/."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                     .every(chart => chart.querySelector('.main-svg') !== null)"""
PAGES = ("", "codebook_trainer", "codebook_explorer", "train", "checkpoints", "user_inspector", "long_tail_review")
SCREENS = REPO / "reports" / "screens"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

playwright = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt installs playwright")
if not os.path.exists(CHROMIUM):
    pytest.skip("needs Debian's chromium (apt-get install chromium); .ci/run installs it", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = free_port()
    environment = {**os.environ, "CONREC_WORKSPACES": str(tmp_path_factory.mktemp("browser-workspaces"))}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app" / "Home.py"),
                               "--server.port", str(port), "--server.address", "127.0.0.1",
                               "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                              env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the app did not start within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=20)


def test_every_page_renders_without_an_exception(app_url):
    if SCREENS.exists():
        shutil.rmtree(SCREENS)
    SCREENS.mkdir(parents=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        for path in PAGES:
            page.goto(f"{app_url}/{path}")
            page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
            page.wait_for_selector("h1", timeout=120_000)  # the page's script has started drawing
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
            page.wait_for_function(CHARTS_DRAWN, timeout=60_000)  # plotly draws after the script has finished
            page.screenshot(path=str(SCREENS / f"{path or 'home'}.png"), full_page=True)
            errors = page.locator('[data-testid="stException"]')
            assert errors.count() == 0, f"/{path}: {errors.first.inner_text()[:500]}"
            assert page.locator("h1").count() >= 1, f"/{path} shows no title"
        browser.close()
    assert len(list(SCREENS.glob("*.png"))) == len(PAGES)
