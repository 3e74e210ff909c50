"""Every page in headless Chromium (Debian's, through playwright; no browser is downloaded): no exception on the
page, and a screenshot of each under reports/screens/."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

import pytest

from conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                     .every(chart => chart.querySelector('.main-svg') !== null)"""
PAGES = ("", "import_log", "pipeline", "codebook_trainer", "codebook_explorer", "train", "checkpoints",
         "user_inspector", "long_tail_review")
SCREENS = REPO / "reports" / "screens"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

playwright = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt installs playwright")
if not os.path.exists(CHROMIUM):
    pytest.skip("needs Debian's chromium (apt-get install chromium); .ci/run installs it", allow_module_level=True)


def open_browser(driver):
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    return browser, browser.new_page(viewport={"width": 1400, "height": 1800})


def settle(page, timeout: int = 120_000) -> None:
    """Wait until the page's script has run to its end and its charts are drawn."""
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
    page.wait_for_selector("h1", timeout=timeout)
    # A script runs in bursts, and the running indicator can be briefly absent between them: wait until it has
    # stayed away for a second and a half.
    deadline, quiet_since = time.monotonic() + timeout / 1000, None
    while time.monotonic() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.5:
            break
        page.wait_for_timeout(250)
    page.wait_for_function(CHARTS_DRAWN, timeout=60_000)


def no_exception(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


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


@pytest.mark.slow  # about a minute; AppTest renders every page in the default run, and the flow test below keeps Chromium in it
def test_every_page_renders_without_an_exception(app_url):
    if SCREENS.exists():
        shutil.rmtree(SCREENS)
    SCREENS.mkdir(parents=True)
    with playwright.sync_playwright() as driver:
        browser, page = open_browser(driver)
        for path in PAGES:
            page.goto(f"{app_url}/{path}")
            settle(page)
            page.screenshot(path=str(SCREENS / f"{path or 'home'}.png"), full_page=True)
            no_exception(page, f"/{path}")
            assert page.locator("h1").count() >= 1, f"/{path} shows no title"
        browser.close()
    assert len(list(SCREENS.glob("*.png"))) == len(PAGES)


@pytest.fixture(scope="module")
def video_log(tmp_path_factory):
    """A video app's log as an analyst would have it: tab-separated, times in milliseconds, a 0/1 dislike label
    beside date and hour columns (the shape that fooled the first guesser), and a copy with one unreadable time."""
    import numpy as np

    folder = tmp_path_factory.mktemp("video-log")
    rng = np.random.default_rng(3)
    rows = ["user_id\tvideo_id\ttime_ms\tlabel\tdate\thour"]
    for _ in range(3000):
        ms = 1_650_000_000_000 + int(rng.integers(0, 21 * 86_400_000))
        moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
        rows.append(f"u{rng.integers(1, 61)}\tv{min(rng.zipf(1.4), 200)}\t{ms}\t{int(rng.random() < 0.15)}\t"
                    f"{moment:%Y-%m-%d}\t{moment.hour}")
    (folder / "video-log.tsv").write_text("\n".join(rows) + "\n")
    bad = list(rows)
    bad[4] = bad[4].replace(bad[4].split("\t")[2], "03/11/2026")
    (folder / "bad-times.tsv").write_text("\n".join(bad) + "\n")
    return folder


def upload(page, path) -> None:
    """Put a file into the event-log uploader (the page has a second one, for the item file, once a log is read)."""
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Event log")
    earlier = uploader.locator('[data-testid="stFileUploaderDeleteBtn"] button')
    if earlier.count():
        earlier.first.click()
        settle(page)
    uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    settle(page)


def test_an_analyst_imports_a_video_log_runs_the_quick_pipeline_and_scores_every_user(app_url, video_log, tmp_path):
    with playwright.sync_playwright() as driver:
        browser, page = open_browser(driver)
        page.goto(f"{app_url}/import_log")
        settle(page)
        upload(page, video_log / "bad-times.tsv")
        time_block = page.locator('[data-testid="stColumn"]').filter(has_text="Time column")
        assert "bad-times.tsv, column 'time_ms', row 4: cannot read '03/11/2026' as milliseconds" in time_block.locator('[data-testid="stAlert"]').inner_text()
        assert page.get_by_role("button", name="Import", exact=True).count() == 0
        page.screenshot(path=str(SCREENS / "import-refused.png"), full_page=True)

        upload(page, video_log / "video-log.tsv")
        page.get_by_text("Every row passes the importer's checks.").wait_for(timeout=60_000)
        form = page.locator('[data-testid="stMain"]').inner_text()
        assert "'label' has two values; the rarer, '1'" in form  # guessed right, and says what to check
        name = page.get_by_role("textbox", name="Workspace name")
        assert name.input_value() == "video-log"  # named after the new file, not the refused one
        name.fill("video")
        name.press("Enter")
        settle(page)
        page.screenshot(path=str(SCREENS / "import-form.png"), full_page=True)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("The last import finished").wait_for(timeout=180_000)
        no_exception(page, "import")

        page.goto(f"{app_url}/pipeline?dataset=video")  # a link opens the dataset it names
        settle(page)
        page.get_by_text("quick: minutes").click()
        page.get_by_role("button", name="Run the pipeline").click()
        page.get_by_text("The last pipeline run finished").wait_for(timeout=900_000)
        page.get_by_text("Full method FHR@20").wait_for(timeout=60_000)  # the page redraws when the job ends
        settle(page)
        no_exception(page, "pipeline")
        assert page.get_by_text("paired test over").count() >= 1
        page.screenshot(path=str(SCREENS / "pipeline-report.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_role("button", name="report.html").click()
        saved = tmp_path / "report.html"
        download.value.save_as(saved)
        assert "<table>" in saved.read_text() and "data:image/png;base64," in saved.read_text()

        page.get_by_role("link", name="Checkpoints").click()  # the sidebar keeps the chosen dataset
        settle(page)
        assert page.url.endswith("?dataset=video")
        page.get_by_role("button", name="Score users").click()
        page.get_by_role("button", name="Download the dislike list (Parquet)").wait_for(timeout=300_000)
        no_exception(page, "checkpoints")
        page.screenshot(path=str(SCREENS / "checkpoints-score.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download the dislike list (Parquet)").click()
        scores = tmp_path / "scores.parquet"
        download.value.save_as(scores)
        import pandas as pd

        table = pd.read_parquet(scores)
        assert list(table.columns) == ["user", "rank", "item", "score"] and table["user"].nunique() >= 50
        assert table["user"].str.fullmatch(r"u\d+").all()  # the video log's users: the dataset stayed chosen
        browser.close()
