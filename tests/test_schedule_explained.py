"""Every scheduled time says why; a date alone is read on the send window's clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from click.testing import Result

from conftest import write_config

Run = Callable[..., Result]
FRIDAY_EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=ZoneInfo("Europe/Berlin"))
NEW = ("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme", "--role",
       "Data Analyst", "--rejected", "2026-11-27T16:00")


def new_york_window(tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml",
                 window="send_window: {timezone: America/New_York}")


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_the_queued_time_names_the_cooling_off_and_the_window(run: Run, tmp_path: Path) -> None:
    new_york_window(tmp_path)
    assert run(*NEW).exit_code == 0
    result = run("schedule", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Request 1 is queued for Mon 2026-11-30 15:00 CET (cooling-off until Sun 2026-11-29 "
        "16:00 CET; send window mon-fri 09:00-17:00 America/New_York → Mon 2026-11-30 15:00 "
        "CET).")


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_without_a_window_it_says_so(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="send_window: off")
    result = run(*NEW, "--schedule")
    assert result.exit_code == 0, result.output
    assert "Send at:       Sun 2026-11-29 16:00 CET" in result.stdout
    queued = run("schedule", "1")
    assert queued.stdout.splitlines()[0] == (
        "Request 1 is queued for Sun 2026-11-29 16:00 CET (cooling-off until Sun 2026-11-29 "
        "16:00 CET; no send window).")


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_a_date_alone_opens_the_window_on_its_own_clock(run: Run, tmp_path: Path) -> None:
    new_york_window(tmp_path)
    assert run(*NEW).exit_code == 0
    result = run("schedule", "1", "--at", "2026-12-01", "--json")
    assert result.exit_code == 0, result.output
    # 09:00 in New York, not 09:00 in Berlin (which is 03:00 there).
    assert json.loads(result.stdout)["send_at"] == "2026-12-01T15:00:00+01:00"
    shown = run("schedule", "1", "--at", "2026-12-01")
    assert shown.stdout.splitlines()[0] == (
        "Request 1 is queued for Tue 2026-12-01 15:00 CET (cooling-off until Sun 2026-11-29 "
        "16:00 CET; the time you chose).")


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_schedule_does_not_suggest_a_flag_it_lacks(run: Run, tmp_path: Path) -> None:
    new_york_window(tmp_path)
    assert run(*NEW).exit_code == 0
    result = run("schedule", "1", "--at", "2026-11-28T10:00")
    assert result.exit_code == 2
    assert "--schedule" not in result.stderr
    assert result.stderr.endswith("Choose --at on or after it, or leave --at out to send at "
                                  "the earliest allowed time.\n")
