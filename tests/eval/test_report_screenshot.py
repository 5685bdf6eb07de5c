"""eval.report_screenshot renders a self-contained report in headless Debian Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eval.report_screenshot import CHROMIUM, screenshot


@pytest.mark.slow
def test_a_report_is_rendered_to_png(tmp_path):
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is absent (apt-get install chromium chromium-driver; `make install` does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    report = tmp_path / "report.html"
    report.write_text("<!doctype html><html><body><h1>Answer-quality report: test split</h1></body></html>", encoding="utf-8")
    out = tmp_path / "shots" / "report.png"
    screenshot(report, out, width=400, height=300)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
