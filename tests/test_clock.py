"""The machine's clock, moved with time-machine, through the real commands and a real server.

Daylight-saving changes inside the cooling-off and at the opening of the send window, a clock
that steps back after a send, and a machine asleep past a send time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import Result

from conftest import PRIYA, SMTPServer, write_config

Run = Callable[..., Result]


def at(moment: str) -> Any:
    """Stop the clock at an ISO 8601 time with its offset."""
    return time_machine.travel(datetime.fromisoformat(moment), tick=False)


def queue(run: Run, now: str, rejected: str, *extra: str) -> dict[str, Any]:
    with at(now):
        result = run("new", "--to", PRIYA, "--org", "Acme", "--role", "Data Analyst",
                     "--rejected", rejected, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def send_due_at(run: Run, moment: str) -> Result:
    with at(moment):
        result = run("send-due")
    assert result.exit_code == 0, result.output
    return result


def sent_count(result: Result) -> int:
    return int(result.stdout.rsplit(" sent,", 1)[0].split()[-1])


def status(run: Run, request_id: int) -> dict[str, Any]:
    return json.loads(run("show", str(request_id), "--json", ok=True).stdout)


@pytest.fixture
def no_window(tmp_path: Path, smtp_server: SMTPServer) -> SMTPServer:
    write_config(tmp_path / "config.yaml", smtp_server, window="send_window: off")
    return smtp_server


# --- daylight saving inside the cooling-off ------------------------------------------------


@pytest.mark.parametrize(
    ("rejected", "earliest", "too_early", "wall_clock_guess"),
    [
        # Spring forward (Berlin, 29 March 2026): 48 real hours end at 17:00 on the wall clock.
        pytest.param("2026-03-27T16:00", "2026-03-29T17:00:00+02:00",
                     "2026-03-29T16:59:59+02:00", "2026-03-29T16:00:00+02:00", id="spring"),
        # Fall back (Berlin, 25 October 2026): they end at 15:00 on the wall clock.
        pytest.param("2026-10-23T16:00", "2026-10-25T15:00:00+01:00",
                     "2026-10-25T14:59:59+01:00", "2026-10-25T15:59:59+01:00", id="autumn"),
    ],
)
def test_the_cooling_off_counts_real_hours_across_a_clock_change(
        run: Run, no_window: SMTPServer, rejected: str, earliest: str, too_early: str,
        wall_clock_guess: str) -> None:
    record = queue(run, rejected + ":00+00:00", rejected, "--schedule")
    assert record["earliest_send_at"] == earliest
    assert record["send_at"] == earliest
    if wall_clock_guess < earliest:
        # Counting 48 hours on the wall clock would have sent it an hour early, here.
        assert sent_count(send_due_at(run, wall_clock_guess)) == 0
    assert sent_count(send_due_at(run, too_early)) == 0
    assert no_window.received == []
    assert sent_count(send_due_at(run, earliest)) == 1
    assert sent_count(send_due_at(run, wall_clock_guess)) == 0
    assert len(no_window.received) == 1
    assert status(run, record["id"])["sent_at"] == earliest


# --- daylight saving at the opening of the send window -------------------------------------

WINDOW_CASES = [
    # The window opens at 02:30 on Sundays; on 29 March 2026 Berlin skips 02:00-03:00, so the
    # first real instant of the window is 03:00 CEST.
    pytest.param('send_window: {days: [sun], start: "02:30", end: "04:00"}',
                 "2026-03-25T12:00", "2026-03-29T03:00:00+02:00", "2026-03-29T00:59:59+00:00",
                 "2026-03-29T01:00:00+00:00", "2026-03-29T01:30:00+00:00", id="start-in-gap"),
    # On 25 October 2026 Berlin shows 02:30 twice; the window opens at the first of them, and
    # the second one does not send it again.
    pytest.param('send_window: {days: [sun], start: "02:30", end: "04:00"}',
                 "2026-10-21T12:00", "2026-10-25T02:30:00+02:00", "2026-10-25T00:29:59+00:00",
                 "2026-10-25T00:30:00+00:00", "2026-10-25T01:30:00+00:00", id="start-in-fold"),
    # A window in New York while Berlin is still on winter time (8-29 March 2026): 09:00 EDT
    # is 13:00 UTC, one hour earlier than in the weeks around it.
    pytest.param('send_window: {start: "09:00", end: "17:00", timezone: America/New_York}',
                 "2026-03-13T10:00", "2026-03-16T09:00:00-04:00", "2026-03-16T12:59:59+00:00",
                 "2026-03-16T13:00:00+00:00", "2026-03-16T14:00:00+00:00",
                 id="other-zone-between-changes"),
]


@pytest.mark.parametrize(("window", "rejected", "opening", "before", "first", "again"),
                         WINDOW_CASES)
def test_the_send_window_opens_at_a_real_instant_across_a_clock_change(
        run: Run, tmp_path: Path, smtp_server: SMTPServer, window: str, rejected: str,
        opening: str, before: str, first: str, again: str) -> None:
    write_config(tmp_path / "config.yaml", smtp_server, window=window)
    record = queue(run, rejected + ":00+00:00", rejected, "--schedule")
    assert datetime.fromisoformat(record["send_at"]) == datetime.fromisoformat(opening)
    assert sent_count(send_due_at(run, before)) == 0
    assert sent_count(send_due_at(run, first)) == 1
    assert sent_count(send_due_at(run, again)) == 0
    assert len(smtp_server.received) == 1


# --- the clock steps back ------------------------------------------------------------------


def test_a_clock_stepping_back_after_a_send_sends_nothing_again(run: Run,
                                                                no_window: SMTPServer) -> None:
    record = queue(run, "2026-11-27T18:00:00+01:00", "2026-11-27T16:00", "--schedule")
    assert sent_count(send_due_at(run, "2026-11-29T16:00:00+01:00")) == 1
    # NTP, a dead battery or a manual change puts the clock days back, then forward again.
    for moment in ("2026-11-29T15:59:59+01:00", "2026-11-26T09:00:00+01:00",
                   "2026-11-29T16:00:00+01:00", "2026-12-05T12:00:00+01:00"):
        assert sent_count(send_due_at(run, moment)) == 0, moment
    assert len(no_window.received) == 1
    assert status(run, record["id"])["status"] == "sent"


def test_a_clock_stepping_back_before_a_send_waits_for_the_cooling_off_again(
        run: Run, no_window: SMTPServer) -> None:
    queue(run, "2026-11-27T18:00:00+01:00", "2026-11-27T16:00", "--schedule")
    # The clock was wrong when the request was queued and is corrected back before its time.
    assert sent_count(send_due_at(run, "2026-11-28T12:00:00+01:00")) == 0
    assert sent_count(send_due_at(run, "2026-11-29T15:59:59+01:00")) == 0
    assert sent_count(send_due_at(run, "2026-11-29T16:00:00+01:00")) == 1
    assert len(no_window.received) == 1


# --- the machine was asleep ----------------------------------------------------------------


def test_asleep_past_the_send_time_sends_at_the_next_opening_once(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server,
                 window='send_window: {start: "09:00", end: "17:00"}')
    # Rejected Thursday 16:00; 48 hours later is Saturday, so it is queued for Monday 09:00.
    records = [queue(run, "2026-11-26T18:00:00+01:00", "2026-11-26T16:00", "--schedule",
                     "--again") for _ in range(3)]
    assert {r["send_at"] for r in records} == {"2026-11-30T09:00:00+01:00"}
    # The laptop slept through Monday's window and wakes at 20:00: nothing goes out at night.
    woke = send_due_at(run, "2026-11-30T20:00:00+01:00")
    assert sent_count(woke) == 0
    assert "3 due but waiting for the send window" in woke.stdout
    assert sent_count(send_due_at(run, "2026-12-01T08:59:59+01:00")) == 0
    assert smtp_server.received == []
    # Tuesday's window opens: each goes once, and later runs find nothing to send.
    assert sent_count(send_due_at(run, "2026-12-01T09:00:00+01:00")) == 3
    for moment in ("2026-12-01T09:10:00+01:00", "2026-12-02T09:00:00+01:00"):
        assert sent_count(send_due_at(run, moment)) == 0
    assert sorted(m.message["Message-ID"] for m in smtp_server.received) == sorted(
        r["message_id"] for r in records)


def test_asleep_for_a_week_sends_once_at_the_first_run_inside_the_window(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server,
                 window='send_window: {start: "09:00", end: "17:00"}')
    record = queue(run, "2026-11-26T18:00:00+01:00", "2026-11-26T16:00", "--schedule")
    # Asleep until Saturday a week later: the weekend is outside the window too.
    assert sent_count(send_due_at(run, "2026-12-05T11:00:00+01:00")) == 0
    assert sent_count(send_due_at(run, "2026-12-07T10:15:00+01:00")) == 1
    assert sent_count(send_due_at(run, "2026-12-07T10:25:00+01:00")) == 0
    assert len(smtp_server.received) == 1
    assert status(run, record["id"])["sent_at"] == "2026-12-07T10:15:00+01:00"
