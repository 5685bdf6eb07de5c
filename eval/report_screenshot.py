"""A headless-Chromium screenshot of an `svt eval --report` HTML file (for docs/screenshots/).

    .venv/bin/python -m eval.report_screenshot report.html docs/screenshots/eval-report.png

Uses Playwright with the Debian `chromium` (never `playwright install`), offline: the report is
self-contained, so no request leaves the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def screenshot(report: Path, out: Path, width: int = 1280, height: int = 2200) -> None:
    """Render the report file and save a PNG of its top `height` pixels."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(report.resolve().as_uri())
            page.locator("h1").first.wait_for()
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
        finally:
            browser.close()


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) != 3:
        sys.exit("usage: python -m eval.report_screenshot REPORT.html OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
