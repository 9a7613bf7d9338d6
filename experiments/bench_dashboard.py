"""Benchmark of the dashboard: page ready after start, and an hour of simulated time rendered.

Starts `gridsim dashboard --port 0` (the built-in baseline unless a scenario is given), opens
the page in headless chromium (Playwright, /usr/bin/chromium) and measures
  - ready: from starting the server process to the page showing the clock and all three
    figures (map, ECDFs, queues) for the first visitor;
  - hour: from clicking "Step an hour" to the clock, the counters and every figure showing the
    new hour (median and max over the hours stepped).
Targets (issue 13): ready within 5 s, an hour within 2 s on the 2-core machine.

    python experiments/bench_dashboard.py [SCENARIO] [--hours 6]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright

FIGURES = (".gridsim-map img", ".gridsim-ecdf img", ".gridsim-queues img")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", nargs="?", default=None)
    ap.add_argument("--hours", type=int, default=6)
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "gridsim", "dashboard", "--port", "0"] + ([args.scenario] if args.scenario else [])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        try:
            url = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
            while True:
                try:
                    page.goto(url, timeout=60_000)
                    break
                except Exception:                # not listening yet
                    time.sleep(0.05)
            page.wait_for_selector(".gridsim-clock", timeout=60_000)
            for css in FIGURES:
                page.wait_for_selector(css, timeout=60_000)
            ready = time.perf_counter() - t0
            hours = []
            for h in range(1, args.hours + 1):
                before = [page.get_attribute(css, "src") for css in FIGURES]
                t = time.perf_counter()
                page.click(".gridsim-step")
                page.wait_for_function(f"document.querySelector('.gridsim-clock').innerText.endsWith('{h:02d}:00')",
                                       timeout=60_000)
                for css, src in zip(FIGURES, before):
                    page.wait_for_function(f"document.querySelector({css!r}).src != {src!r}", timeout=60_000)
                hours.append(time.perf_counter() - t)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            browser.close()
    print(f"page ready after start: {ready:.2f} s (target 5 s)")
    print(f"one simulated hour rendered: median {statistics.median(hours):.2f} s, max {max(hours):.2f} s "
          f"over {len(hours)} hours (target 2 s)")


if __name__ == "__main__":
    main()
