"""Render a report to a full-page PNG with the system Chromium, as README's docs/report.png.

Usage (from the repository root, after `tonewatch demo`):

    python docs/screenshot.py reports/latest.html docs/report.png

Uses Playwright's Python package with /usr/bin/chromium (never `playwright install`) and
lets the page load nothing but the report file itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _only_the_file(route) -> None:
    if route.request.url.startswith("file://"):
        route.continue_()
    else:
        route.abort()


def screenshot(report: Path, png: Path, *, width: int = 1200) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.route("**/*", _only_the_file)
        page.goto(report.resolve().as_uri(), wait_until="load")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d._fullLayout)"
        )
        page.wait_for_timeout(500)
        page.screenshot(path=str(png), full_page=True)
        browser.close()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
