"""The monitoring report as a person sees it: headless Chromium at phone and desktop widths.

Fails if any element leaves the viewport or has its content cut, as the card's and the lists'
browser tests do (tests/_chromium.py: a missing browser fails where CI is set).
"""

from __future__ import annotations

import pytest

from send_early.monitor import monitor_report
from send_early.schema import Tables

from .._chromium import fits
from .test_forecast import world
from .test_monitor import IDS, run


@pytest.fixture(scope="module")
def page():
    first, tables = world()
    first.metadata["model"] = {"name": "m", "version": "1"}
    later = run("2025-01-15", IDS, IDS[:40], drift=[("attendance_trend_long_name", 0.41)])
    earlier = run("2024-09-01", IDS, IDS[5:45], drift=[("age_months", 0.6)])
    report = monitor_report(
        [earlier, later, first],
        tables=Tables(tables, extract_date="2025-06-30"),
        expected=set(),
        horizon_months=12,
    )
    assert report.stability and report.drift and report.forecast and report.calibration
    return report.html()


@pytest.mark.parametrize("width", [390, 1280])
def test_monitor_report_fits_the_screen(page, tmp_path, width):
    assert fits(page, width, tmp_path)["count"] >= 6  # tables
