"""Public holidays in the send window: no request lands on Christmas Day or Thanksgiving."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import Result

from draft_feedback.timing import check_holidays, into_window, parse_window

from conftest import PRIYA, write_config

Run = Callable[..., Result]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def window(code: str, zone: str) -> str:
    return (f"send_window:\n  holidays: {code}\n  timezone: {zone}\n"
            f"  start: \"09:00\"\n  end: \"17:00\"\n")


@pytest.mark.parametrize(("code", "zone", "rejected", "now", "expected"), [
    # Cooling-off ends on Christmas Eve evening; Christmas Day and Boxing Day (observed on
    # Monday 28th in 2026) are skipped, as is the weekend.
    ("GB", "Europe/London", "2026-12-22T18:00", "2026-12-23T10:00",
     "2026-12-29T09:00:00+00:00"),
    # Cooling-off ends the evening before Thanksgiving (26 November 2026).
    ("US-NY", "America/New_York", "2026-11-23T20:00", "2026-11-24T10:00",
     "2026-11-27T09:00:00-05:00"),
])
def test_a_scheduled_request_skips_the_recipients_public_holidays(
        run: Run, tmp_path: Path, code: str, zone: str, rejected: str, now: str,
        expected: str) -> None:
    write_config(tmp_path / "config.yaml", window=window(code, zone))
    tz = ZoneInfo(zone)
    with time_machine.travel(datetime.fromisoformat(now).replace(tzinfo=tz), tick=False):
        result = run("new", "--to", PRIYA, "--org", "Acme", "--rejected",
                     datetime.fromisoformat(rejected).replace(tzinfo=tz).isoformat(),
                     "--schedule", "--json")
    assert result.exit_code == 0, result.output
    send_at = datetime.fromisoformat(json.loads(result.stdout)["send_at"])
    assert send_at.astimezone(tz).isoformat() == expected


def test_without_holidays_christmas_day_is_an_ordinary_friday() -> None:
    london = ZoneInfo("Europe/London")
    plain = parse_window(WEEKDAYS, "09:00", "17:00", london)
    start = datetime(2026, 12, 24, 18, tzinfo=london)
    assert into_window(start, plain) == datetime(2026, 12, 25, 9, tzinfo=london)
    with_holidays = parse_window(WEEKDAYS, "09:00", "17:00", london, holidays="GB")
    assert with_holidays.holiday(datetime(2026, 12, 25, 12, tzinfo=london)) == "Christmas Day"
    assert "except GB public holidays" in with_holidays.describe()


def test_the_holiday_is_the_windows_own_calendar_day() -> None:
    # 23:30 on Christmas Eve in New York is already Christmas Day in London, and the reverse.
    ny = ZoneInfo("America/New_York")
    london_window = parse_window(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "00:00",
                                 "23:59", ZoneInfo("Europe/London"), holidays="GB")
    assert not london_window.contains(datetime(2026, 12, 24, 23, 30, tzinfo=ny))
    assert london_window.contains(datetime(2026, 12, 24, 18, 30, tzinfo=ny))


@pytest.mark.parametrize(("code", "expected_error"), [
    ("XX", "send_window.holidays: 'XX' is not a country the holidays package knows"),
    ("US-ZZ", "send_window.holidays: 'ZZ' is not a subdivision of US; for example US-"),
    ("G B", "send_window.holidays: 'G B' is not a country or subdivision code like GB"),
])
def test_an_unknown_holiday_calendar_is_a_config_error(run: Run, tmp_path: Path, code: str,
                                                       expected_error: str) -> None:
    write_config(tmp_path / "config.yaml",
                 window=f"send_window:\n  holidays: \"{code}\"\n")
    result = run("new", "--to", PRIYA, "--org", "Acme", "--schedule")
    assert result.exit_code == 2
    assert f"config.yaml:6: {expected_error}" in result.stderr
    assert "Traceback" not in result.output


def test_holiday_codes_are_normalised() -> None:
    assert check_holidays("us-ny") == "US-NY"
    assert check_holidays(" gb ") == "GB"
