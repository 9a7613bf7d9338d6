"""The dashboard in a real headless browser (Playwright driving Debian's chromium).

One server for the module, started as `gridsim dashboard --port 0` (a free loopback port,
read back from the address it prints). The test loads the page, moves a control (a refused
value first: the message shows and the model stays; then a good one: the model is rebuilt),
steps an hour and checks that the clock, a counter and a chart changed; it saves a screenshot
under the test's temporary directory. Requests to any address but the loopback are aborted
and must not happen. Waits are for the page's own `gridsim-*` elements, never Mesa's labels.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is absent (Debian's chromium package: apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
LOOPBACK = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, "-m", "gridsim", "dashboard", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"no address printed: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        url = found.group(0)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not come up: {proc.stderr.read()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _page(browser, url, outside: list[str]):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})

    def route(r):
        if r.request.url.startswith(LOOPBACK):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.goto(url)
    page.wait_for_selector(".gridsim-clock", timeout=WAIT_MS)
    page.wait_for_selector(".gridsim-ecdf img", timeout=WAIT_MS)
    return page


def _fill(page, css: str, value: str) -> None:
    box = page.locator(f"{css} input")
    box.fill(value)
    box.press("Enter")


def test_control_step_clock_counter_chart(server, browser, tmp_path):
    outside: list[str] = []
    page = _page(browser, server, outside)
    assert page.inner_text(".gridsim-clock") == "day 1 00:00"
    assert page.inner_text(".gridsim-events") == "0"
    fleet_before = page.locator("text=/police units busy \\(of [0-9,]+\\)/").inner_text()

    # a refused value: the scenario's one-line message, the last good model kept
    _fill(page, ".gridsim-police-units", "-5")
    page.wait_for_selector(".gridsim-error", timeout=WAIT_MS)
    assert "staff.police_units" in page.inner_text(".gridsim-error")
    assert page.locator("text=/police units busy \\(of [0-9,]+\\)/").inner_text() == fleet_before

    # a good value: the model is rebuilt (same seed), the message goes
    _fill(page, ".gridsim-police-units", "600")
    page.wait_for_selector(".gridsim-error", state="detached", timeout=WAIT_MS)
    page.wait_for_function(
        "b => !document.body.innerText.includes(b)", arg=fleet_before, timeout=WAIT_MS)
    fleet_after = page.locator("text=/police units busy \\(of [0-9,]+\\)/").inner_text()
    assert int(re.sub(r"\D", "", fleet_after)) < int(re.sub(r"\D", "", fleet_before))

    chart_before = page.get_attribute(".gridsim-ecdf img", "src")
    page.click(".gridsim-step")
    page.wait_for_function("document.querySelector('.gridsim-clock').innerText == 'day 1 01:00'",
                           timeout=WAIT_MS)
    page.wait_for_function(f"document.querySelector('.gridsim-ecdf img').src != {chart_before!r}",
                           timeout=WAIT_MS)
    assert int(page.inner_text(".gridsim-events").replace(",", "")) > 0
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert outside == []
    page.close()


def test_compare_page_says_what_is_wrong_with_a_folder(server, browser, tmp_path):
    outside: list[str] = []
    page = _page(browser, server, outside)
    page.get_by_text("Page 1", exact=False).click()
    _fill(page, ".gridsim-experiment-path", str(tmp_path / "missing"))
    page.click(".gridsim-open")
    page.wait_for_selector(".gridsim-compare-error", timeout=WAIT_MS)
    assert "does not exist" in page.inner_text(".gridsim-compare-error")
    assert outside == []
    page.close()
