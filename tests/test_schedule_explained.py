"""Every scheduled time says why; a date alone is read on the send window's clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from click.testing import Result

from conftest import SMTPServer, write_config

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


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_new_with_schedule_shows_why_then(run: Run, tmp_path: Path) -> None:
    new_york_window(tmp_path)
    result = run(*NEW, "--schedule")
    assert result.exit_code == 0, result.output
    assert ("Send at:       Mon 2026-11-30 15:00 CET\n"
            "Why then:      cooling-off until Sun 2026-11-29 16:00 CET; send window mon-fri "
            "09:00-17:00 America/New_York → Mon 2026-11-30 15:00 CET\n") in result.stdout


def stored(run: Run) -> list[dict]:
    return json.loads(run("list", "--all", "--json").stdout)


OUT_OF_WINDOW = ("--at: Sat 2026-12-05 10:00 CET is outside your send window (mon-fri "
                 "09:00-17:00 Europe/Berlin); nothing was changed. Choose another --at, leave "
                 "--at out to send at the earliest allowed time, or add --force to send then "
                 "anyway.")


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_new_at_outside_the_window_is_refused_off_a_terminal(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="")  # the default window, Berlin
    result = run(*NEW, "--at", "2026-12-05T10:00")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {OUT_OF_WINDOW}\n"
    assert stored(run) == []
    forced = run(*NEW, "--at", "2026-12-05T10:00", "--force", "--json")
    assert forced.exit_code == 0, forced.output
    record = json.loads(forced.stdout)
    assert (record["status"], record["send_at"]) == ("scheduled", "2026-12-05T10:00:00+01:00")
    assert len(stored(run)) == 1


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_a_holiday_inside_the_hours_is_outside_the_window(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="send_window: {holidays: GB}")
    assert run(*NEW).exit_code == 0
    result = run("schedule", "1", "--at", "2026-12-25T10:00")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: --at: Fri 2026-12-25 10:00 CET is outside your send window (mon-fri 09:00-17:00 "
        "Europe/Berlin, except GB public holidays): Christmas Day; nothing was changed.")
    assert stored(run)[0]["status"] == "draft"


@time_machine.travel(datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")), tick=False)
def test_an_at_in_the_past_is_refused_without_force(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="send_window: off")
    assert run(*NEW, "--at", "2026-11-30T10:00", "--json").exit_code == 2
    assert run(*NEW).exit_code == 0
    moved = run("schedule", "1", "--at", "2026-11-30T10:00")
    assert moved.exit_code == 2
    assert moved.stderr.startswith(
        "Error: --at: Mon 2026-11-30 10:00 CET is in the past, so it would go at the next "
        "send-due run; nothing was changed.")
    [record] = stored(run)
    assert (record["status"], record["send_at"]) == ("draft", None)
    forced = run("schedule", "1", "--at", "2026-11-30T10:00", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.splitlines()[0] == (
        "Request 1 is queued for Mon 2026-11-30 10:00 CET (cooling-off until Sun 2026-11-29 "
        "16:00 CET; the time you chose).")


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_an_at_inside_the_window_needs_no_force(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="")
    result = run(*NEW, "--at", "2026-12-01T10:00", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["send_at"] == "2026-12-01T10:00:00+01:00"


def test_a_thank_you_outside_the_window_needs_force(run: Run, tmp_path: Path,
                                                    smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server, window="")
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        assert run(*NEW, "--schedule").exit_code == 0
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
                             tick=False):
        assert "1 sent" in run("send-due").stdout
        assert run("reply", "1", "-", input="Happy to help: more SQL.\n").exit_code == 0
        refused = run("thank", "1", "--at", "2026-12-05T10:00")
        assert refused.exit_code == 2, refused.output
        assert refused.stderr == f"Error: {OUT_OF_WINDOW}\n"
        assert [r["kind"] for r in stored(run)] == ["request"]
        forced = run("thank", "1", "--at", "2026-12-05T10:00", "--force", "--json")
        assert forced.exit_code == 0, forced.output
        thanks = json.loads(forced.stdout)
        assert (thanks["kind"], thanks["status"], thanks["send_at"]) == (
            "thank-you", "scheduled", "2026-12-05T10:00:00+01:00")
