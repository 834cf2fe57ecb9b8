"""Tests for the cooling-off and send-window policy in draft_feedback.timing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from draft_feedback.errors import EXIT_BAD_INPUT, BadInput
from draft_feedback.timing import (
    DAY_NAMES,
    DEFAULT_COOLING_OFF_HOURS,
    MIN_COOLING_OFF_HOURS,
    SendWindow,
    backoff,
    check_requested,
    default_window,
    earliest_send,
    from_iso,
    into_window,
    parse_when,
    parse_window,
    pick_send_time,
    resolve_local,
    to_utc_iso,
)

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ZONES = [BERLIN, NEW_YORK, KOLKATA, LORD_HOWE, ZoneInfo("UTC")]
EVERY_DAY = frozenset(range(7))
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN)

# Database off: the property tests must not leave a .hypothesis folder in a shared tree.
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def utc(t: dt.datetime) -> dt.datetime:
    """Compare instants through UTC: same-zone comparisons ignore fold and misorder folds."""
    return t.astimezone(UTC)


def window(start: str, end: str, tz: ZoneInfo, days: frozenset[int] = EVERY_DAY) -> SendWindow:
    """A SendWindow from "HH:MM" strings."""
    return SendWindow(days, dt.time.fromisoformat(start), dt.time.fromisoformat(end), tz)


# Minutes of the day where the zones above change their clocks, so windows often start in gaps
# and folds rather than only by luck.
DST_MINUTES = [0, 60, 90, 105, 120, 135, 150, 165, 180, 9 * 60, 17 * 60]
minute_of_day = st.one_of(st.sampled_from(DST_MINUTES), st.integers(0, 1439))
zones = st.sampled_from(ZONES)
aware_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 12, 31), timezones=zones
)


@st.composite
def windows(draw: st.DrawFn, tz: ZoneInfo | None = None) -> SendWindow:
    """Any valid send window: a non-empty set of days and start < end on the minute."""
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    first = draw(minute_of_day)
    second = draw(minute_of_day.filter(lambda m: m != first))
    start, end = sorted((first, second))
    return SendWindow(
        days,
        dt.time(start // 60, start % 60),
        dt.time(end // 60, end % 60),
        tz if tz is not None else draw(zones),
    )


@PROPERTY
@given(
    rejected_at=aware_times,
    hours=st.integers(24, 240),
    send_window=windows(),
    now=aware_times,
)
def test_picked_time_obeys_every_rule(
    rejected_at: dt.datetime, hours: int, send_window: SendWindow, now: dt.datetime
) -> None:
    picked = pick_send_time(rejected_at, hours, send_window, now)
    assert utc(picked) >= utc(earliest_send(rejected_at, hours))
    assert utc(picked) >= utc(now)
    assert send_window.contains(picked)
    assert utc(into_window(picked, send_window)) == utc(picked)


@PROPERTY
@given(rejected_at=aware_times, hours=st.integers(24, 240), now=aware_times)
def test_without_window_the_picked_time_is_the_later_of_earliest_and_now(
    rejected_at: dt.datetime, hours: int, now: dt.datetime
) -> None:
    picked = pick_send_time(rejected_at, hours, None, now)
    assert utc(picked) == max(utc(earliest_send(rejected_at, hours)), utc(now))


@PROPERTY
@given(rejected_at=aware_times, hours=st.integers(24, 240))
def test_earliest_send_is_elapsed_hours(rejected_at: dt.datetime, hours: int) -> None:
    earliest = earliest_send(rejected_at, hours)
    assert utc(earliest) - utc(rejected_at) == dt.timedelta(hours=hours)
    assert earliest.tzinfo is rejected_at.tzinfo


# Instants where the zones change their clocks in 2026 (Kolkata and UTC never do).
TRANSITIONS = [
    (BERLIN, dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    (BERLIN, dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    (NEW_YORK, dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    (NEW_YORK, dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC)),
    (LORD_HOWE, dt.datetime(2026, 4, 4, 15, 0, tzinfo=UTC)),
    (LORD_HOWE, dt.datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
    (KOLKATA, dt.datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
    (ZoneInfo("UTC"), dt.datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
]


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[dt.datetime, SendWindow]:
    """A whole-minute time within three days of a clock change, and a window in that zone."""
    tz, instant = draw(st.sampled_from(TRANSITIONS))
    t = instant + dt.timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    return t.astimezone(tz), draw(windows(tz))


@settings(max_examples=60, deadline=None, database=None)
@given(case=near_transition())
def test_into_window_finds_the_first_open_minute(case: tuple[dt.datetime, SendWindow]) -> None:
    # Brute force: every zone here changes offset on whole minutes and windows open on whole
    # minutes, so checking each minute from t finds the true first opening.
    t, send_window = case
    result = into_window(t, send_window)
    assert send_window.contains(result)
    assert (utc(result) - utc(t)) % dt.timedelta(minutes=1) == dt.timedelta(0)
    probe = utc(t)
    while probe < utc(result):
        assert not send_window.contains(probe), f"open at {probe.astimezone(send_window.tz)}"
        probe += dt.timedelta(minutes=1)


# fmt: off
@pytest.mark.parametrize(
    ("rejected", "hours", "send_window", "now", "expected"),
    [
        pytest.param(
            "2026-11-27T16:00:00+01:00", 48, default_window(BERLIN), None,
            "2026-11-30T09:00:00+01:00", id="friday-afternoon-sunday-moves-to-monday-opening",
        ),
        pytest.param(
            "2026-11-24T10:00:00+01:00", 48, default_window(BERLIN), None,
            "2026-11-26T10:00:00+01:00", id="tuesday-to-thursday-inside-window-stays",
        ),
        pytest.param(
            "2026-11-27T16:00:00+01:00", 48, None, None,
            "2026-11-29T16:00:00+01:00", id="window-off-keeps-the-raw-time",
        ),
        pytest.param(
            "2026-11-24T10:00:00+01:00", 48, default_window(BERLIN), "2026-11-26T14:30:00+01:00",
            "2026-11-26T14:30:00+01:00", id="now-later-than-earliest-uses-now",
        ),
        pytest.param(
            "2026-11-24T10:00:00+01:00", 48, default_window(BERLIN), "2026-11-26T18:00:00+01:00",
            "2026-11-27T09:00:00+01:00", id="now-after-closing-waits-for-next-opening",
        ),
        pytest.param(
            "2026-11-24T10:00:00+01:00", 48, None, "2026-12-01T08:00:00+01:00",
            "2026-12-01T08:00:00+01:00", id="window-off-now-later-uses-now",
        ),
        pytest.param(
            "2026-11-27T16:00:00+01:00", 48, default_window(NEW_YORK), None,
            "2026-11-30T09:00:00-05:00", id="window-in-the-recipients-zone",
        ),
        pytest.param(
            "2026-03-27T12:00:00+01:00", 48, None, None,
            "2026-03-29T13:00:00+02:00", id="cooling-off-over-spring-forward-is-48-real-hours",
        ),
        pytest.param(
            "2026-03-27T12:00:00+01:00", 48, default_window(BERLIN), None,
            "2026-03-30T09:00:00+02:00", id="monday-after-spring-forward-in-summer-time",
        ),
        pytest.param(
            "2026-11-27T16:00:00+05:30", 72, default_window(KOLKATA), None,
            "2026-11-30T16:00:00+05:30", id="half-hour-offset-zone",
        ),
    ],
)
# fmt: on
def test_pick_send_time(
    rejected: str, hours: int, send_window: SendWindow | None, now: str | None, expected: str
) -> None:
    # Zoned like the caller's times, so a result returned as given shows a zone's real offset.
    zone = send_window.tz if send_window else BERLIN
    rejected_at = dt.datetime.fromisoformat(rejected).astimezone(zone)
    current = (
        dt.datetime.fromisoformat(now).astimezone(zone)
        if now
        else rejected_at + dt.timedelta(minutes=1)
    )
    picked = pick_send_time(rejected_at, hours, send_window, current)
    assert picked.isoformat() == expected


# fmt: off
@pytest.mark.parametrize(
    ("tz", "start", "end", "days", "t", "expected"),
    [
        pytest.param(
            BERLIN, "02:30", "05:00", EVERY_DAY, "2026-03-29T00:00:00+01:00",
            "2026-03-29T03:00:00+02:00", id="berlin-start-in-spring-gap-opens-when-gap-ends",
        ),
        pytest.param(
            BERLIN, "02:30", "05:00", EVERY_DAY, "2026-03-29T03:10:00+02:00",
            "2026-03-29T03:10:00+02:00", id="berlin-after-gap-already-open",
        ),
        pytest.param(
            BERLIN, "02:15", "02:45", frozenset({6}), "2026-03-29T00:00:00+01:00",
            "2026-04-05T02:15:00+02:00", id="berlin-window-wholly-in-gap-waits-a-week",
        ),
        pytest.param(
            BERLIN, "02:30", "03:00", EVERY_DAY, "2026-03-29T00:00:00+01:00",
            "2026-03-30T02:30:00+02:00", id="berlin-window-ending-as-gap-ends-is-empty-that-day",
        ),
        pytest.param(
            BERLIN, "02:30", "05:00", EVERY_DAY, "2026-10-25T00:00:00+02:00",
            "2026-10-25T02:30:00+02:00", id="berlin-start-in-fold-takes-first-occurrence",
        ),
        pytest.param(
            BERLIN, "02:30", "02:40", EVERY_DAY, "2026-10-25T02:45:00+02:00",
            "2026-10-25T02:30:00+01:00", id="berlin-fold-second-occurrence-reopens",
        ),
        pytest.param(
            NEW_YORK, "02:30", "05:00", EVERY_DAY, "2026-03-08T00:00:00-05:00",
            "2026-03-08T03:00:00-04:00", id="new-york-start-in-spring-gap",
        ),
        pytest.param(
            NEW_YORK, "01:30", "05:00", EVERY_DAY, "2026-11-01T00:00:00-04:00",
            "2026-11-01T01:30:00-04:00", id="new-york-start-in-fold-takes-first-occurrence",
        ),
        pytest.param(
            NEW_YORK, "00:30", "01:30", EVERY_DAY, "2026-11-01T01:45:00-04:00",
            "2026-11-01T01:00:00-05:00", id="new-york-clock-falls-back-into-window",
        ),
        pytest.param(
            LORD_HOWE, "02:15", "05:00", EVERY_DAY, "2026-10-04T00:00:00+10:30",
            "2026-10-04T02:30:00+11:00", id="lord-howe-half-hour-spring-gap",
        ),
        pytest.param(
            LORD_HOWE, "01:45", "05:00", EVERY_DAY, "2026-04-05T00:00:00+11:00",
            "2026-04-05T01:45:00+11:00", id="lord-howe-half-hour-fold",
        ),
        pytest.param(
            BERLIN, "09:00", "17:00", frozenset(range(5)), "2026-11-30T07:00:00+00:00",
            "2026-11-30T09:00:00+01:00", id="before-todays-opening-waits-for-it",
        ),
        pytest.param(
            BERLIN, "09:00", "17:00", frozenset(range(5)), "2026-11-30T17:00:00+01:00",
            "2026-12-01T09:00:00+01:00", id="end-is-exclusive",
        ),
    ],
)
# fmt: on
def test_into_window_daylight_saving(
    tz: ZoneInfo, start: str, end: str, days: frozenset[int], t: str, expected: str
) -> None:
    send_window = window(start, end, tz, days)
    result = into_window(dt.datetime.fromisoformat(t), send_window)
    assert utc(result) == utc(dt.datetime.fromisoformat(expected))
    assert result.astimezone(tz).isoformat() == expected
    assert send_window.contains(result)


def test_into_window_without_window_returns_t_itself() -> None:
    t = dt.datetime(2026, 11, 29, 3, 0, tzinfo=BERLIN)
    assert into_window(t, None) is t


@pytest.mark.parametrize(
    ("t", "inside"),
    [
        ("2026-11-30T09:00:00+01:00", True),
        ("2026-11-30T16:59:59.999999+01:00", True),
        ("2026-11-30T17:00:00+01:00", False),
        ("2026-11-30T08:59:59+01:00", False),
        ("2026-11-28T12:00:00+01:00", False),
        ("2026-11-30T08:30:00+00:00", True),
    ],
)
def test_default_window_contains(t: str, inside: bool) -> None:
    assert default_window(BERLIN).contains(dt.datetime.fromisoformat(t)) is inside


def test_default_window_is_weekdays_nine_to_five() -> None:
    assert default_window(NEW_YORK) == SendWindow(
        frozenset({0, 1, 2, 3, 4}), dt.time(9), dt.time(17), NEW_YORK
    )
    assert default_window(NEW_YORK).describe() == "mon-fri 09:00-17:00 America/New_York"


@pytest.mark.parametrize(
    ("days", "start", "end", "expected_error"),
    [
        (frozenset(), dt.time(9), dt.time(17), "at least one day"),
        (frozenset({7}), dt.time(9), dt.time(17), "0 (Monday) to 6 (Sunday)"),
        (EVERY_DAY, dt.time(17), dt.time(9), "end 09:00 must be after start 17:00"),
        (EVERY_DAY, dt.time(9), dt.time(9), "end 09:00 must be after start 09:00"),
    ],
)
def test_send_window_refuses_windows_that_never_open(
    days: frozenset[int], start: dt.time, end: dt.time, expected_error: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(expected_error)):
        SendWindow(days, start, end, BERLIN)


def test_naive_times_are_refused() -> None:
    naive = dt.datetime(2026, 11, 27, 16, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        default_window(BERLIN).contains(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        into_window(naive, None)
    with pytest.raises(ValueError, match="timezone-aware"):
        earliest_send(naive, 48)
    with pytest.raises(ValueError, match="timezone-aware"):
        pick_send_time(dt.datetime(2026, 11, 27, tzinfo=BERLIN), 48, None, naive)


def test_cooling_off_constants() -> None:
    assert (MIN_COOLING_OFF_HOURS, DEFAULT_COOLING_OFF_HOURS) == (24, 48)
    assert DAY_NAMES == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.mark.parametrize(
    ("rejected", "hours", "expected"),
    [
        ("2026-11-27T16:00:00+01:00", 48, "2026-11-29T16:00:00+01:00"),
        ("2026-11-27T16:00:00+01:00", 24, "2026-11-28T16:00:00+01:00"),
        ("2026-03-28T12:00:00+01:00", 24, "2026-03-29T13:00:00+02:00"),
        ("2026-10-24T12:00:00+02:00", 24, "2026-10-25T11:00:00+01:00"),
    ],
)
def test_earliest_send_counts_real_hours_across_clock_changes(
    rejected: str, hours: int, expected: str
) -> None:
    rejected_at = dt.datetime.fromisoformat(rejected).astimezone(BERLIN)
    assert earliest_send(rejected_at, hours).isoformat() == expected


@pytest.mark.parametrize("hours", [23, 0, -48])
def test_earliest_send_refuses_short_cooling_off(hours: int) -> None:
    with pytest.raises(ValueError, match="at least 24 hours"):
        earliest_send(dt.datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN), hours)


def test_policy_ignores_the_machines_clock() -> None:
    rejected_at = dt.datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)
    expected = pick_send_time(rejected_at, 48, default_window(BERLIN), NOW)
    with time_machine.travel(dt.datetime(2031, 1, 1, tzinfo=UTC), tick=False):
        assert pick_send_time(rejected_at, 48, default_window(BERLIN), NOW) == expected


EARLIEST = dt.datetime(2026, 11, 29, 16, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    "at",
    [EARLIEST, EARLIEST + dt.timedelta(days=3), EARLIEST.astimezone(NEW_YORK)],
    ids=["exactly-earliest", "later", "same-instant-other-zone"],
)
def test_check_requested_keeps_an_allowed_time_as_given(at: dt.datetime) -> None:
    assert check_requested(at, EARLIEST) is at


@pytest.mark.parametrize(
    ("at", "earliest", "expected_error"),
    [
        (
            dt.datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN),
            EARLIEST,
            "--at: 2026-11-28T09:00:00+01:00 is before the cooling-off ends; the earliest "
            "allowed time is 2026-11-29T16:00:00+01:00. Choose --at on or after it, or leave "
            "--at out",
        ),
        (
            dt.datetime(2026, 11, 28, 9, 0, tzinfo=NEW_YORK),
            EARLIEST,
            "the earliest allowed time is 2026-11-29T10:00:00-05:00.",
        ),
        (
            EARLIEST - dt.timedelta(microseconds=1),
            EARLIEST,
            "the earliest allowed time is 2026-11-29T16:00:00+01:00.",
        ),
        (
            dt.datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN),
            EARLIEST + dt.timedelta(microseconds=250_000),
            "the earliest allowed time is 2026-11-29T16:00:01+01:00.",
        ),
    ],
    ids=["message", "shown-in-the-zone-of-at", "one-microsecond-early", "rounded-up-to-second"],
)
def test_check_requested_refuses_a_time_inside_the_cooling_off(
    at: dt.datetime, earliest: dt.datetime, expected_error: str
) -> None:
    with pytest.raises(BadInput, match=re.escape(expected_error)) as caught:
        check_requested(at, earliest)
    assert caught.value.exit_code == EXIT_BAD_INPUT


def test_the_earliest_time_shown_is_accepted_when_typed_back() -> None:
    earliest = EARLIEST + dt.timedelta(microseconds=250_000)
    with pytest.raises(BadInput) as caught:
        check_requested(EARLIEST - dt.timedelta(hours=1), earliest)
    shown = re.search(r"earliest allowed time is (\S+)\.", str(caught.value))
    assert shown is not None
    at = parse_when(shown[1], BERLIN, option="--at", now=NOW)
    assert check_requested(at, earliest) is at


PAST_ONLY = {"allow_future": False}
NINE = {"date_time": dt.time(9)}


# fmt: off
@pytest.mark.parametrize(
    ("text", "tz", "options", "expected", "expected_error"),
    [
        ("2026-11-27", BERLIN, {}, "2026-11-27T00:00:00+01:00", None),
        ("2026-11-27", BERLIN, NINE, "2026-11-27T09:00:00+01:00", None),
        ("2026-11-27T16:00", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("2026-11-27 16:00", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("2026-11-27t16:00:30", BERLIN, {}, "2026-11-27T16:00:30+01:00", None),
        ("2026-11-27T16:00:00+01:00", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("2026-11-27T15:00:00Z", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("2026-11-27T10:00-05:00", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("2026-11-27T16:00+0100", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("  2026-11-27T16:00\n", BERLIN, {}, "2026-11-27T16:00:00+01:00", None),
        ("2026-11-27T16:00", KOLKATA, {}, "2026-11-27T16:00:00+05:30", None),
        ("2026-03-29T02:30", BERLIN, {}, "2026-03-29T03:00:00+02:00", None),
        ("2026-10-25T02:30", BERLIN, {}, "2026-10-25T02:30:00+02:00", None),
        ("2026-03-08T02:30", NEW_YORK, {}, "2026-03-08T03:00:00-04:00", None),
        ("2026-11-01T01:30", NEW_YORK, {}, "2026-11-01T01:30:00-04:00", None),
        ("2026-11-27", BERLIN, PAST_ONLY, "2026-11-27T00:00:00+01:00", None),
        ("2026-11-28T12:00", BERLIN, PAST_ONLY, "2026-11-28T12:00:00+01:00", None),
        ("", BERLIN, {}, None, "--rejected: no time given; expected an ISO 8601 date"),
        ("   ", BERLIN, {}, None, "--rejected: no time given"),
        (
            "yesterday", BERLIN, {}, None,
            "--rejected: 'yesterday' is not an ISO 8601 date or date-time "
            "(for example 2026-11-27 or 2026-11-27T16:00)",
        ),
        (
            "2026-13-01", BERLIN, {}, None,
            "--rejected: '2026-13-01' is not a valid ISO 8601 date or date-time "
            "(month must be in 1..12)",
        ),
        ("2026-02-30", BERLIN, {}, None, "'2026-02-30' is not a valid"),
        ("2026-11-27T25:00", BERLIN, {}, None, "'2026-11-27T25:00' is not a valid"),
        ("2026-11-27x16:00", BERLIN, {}, None, "'2026-11-27x16:00' is not an ISO 8601"),
        ("27/11/2026", BERLIN, {}, None, "'27/11/2026' is not an ISO 8601"),
        ("2026-11-27T16", BERLIN, {}, None, "'2026-11-27T16' is not an ISO 8601"),
        ("２０２６-11-27", BERLIN, {}, None, "is not an ISO 8601"),
        ("0001-01-01T00:00+14:00", BERLIN, {}, None, "'0001-01-01T00:00+14:00' is not a valid"),
        (
            "2026-12-01", BERLIN, PAST_ONLY, None,
            "--rejected: 2026-12-01T00:00:00+01:00 is in the future; a rejection can only be "
            "in the past (now is 2026-11-28T12:00:00+01:00)",
        ),
        ("2026-11-28T12:01", BERLIN, PAST_ONLY, None, "is in the future"),
    ],
)
# fmt: on
def test_parse_when(
    text: str,
    tz: ZoneInfo,
    options: dict[str, Any],
    expected: str | None,
    expected_error: str | None,
) -> None:
    if expected_error is not None:
        with pytest.raises(BadInput, match=re.escape(expected_error)):
            parse_when(text, tz, option="--rejected", now=NOW, **options)
        return
    result = parse_when(text, tz, option="--rejected", now=NOW, **options)
    assert result.isoformat() == expected
    assert result.tzinfo is tz


def test_parse_when_names_the_option_it_was_given() -> None:
    with pytest.raises(BadInput, match=r"^--at: 'soon' is not an ISO 8601"):
        parse_when("soon", BERLIN, option="--at", now=NOW)


@PROPERTY
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.from_regex(r"\A\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?\Z"),
    ),
    tz=zones,
)
def test_parse_when_never_fails_with_anything_but_bad_input(text: str, tz: ZoneInfo) -> None:
    try:
        result = parse_when(text, tz, option="--at", now=NOW)
    except BadInput as exc:
        assert str(exc).startswith("--at: ")
    else:
        assert result.tzinfo is tz


@pytest.mark.parametrize(
    ("naive", "tz", "expected"),
    [
        (dt.datetime(2026, 3, 29, 2, 0), BERLIN, "2026-03-29T03:00:00+02:00"),
        (dt.datetime(2026, 3, 29, 2, 59, 59), BERLIN, "2026-03-29T03:00:00+02:00"),
        (dt.datetime(2026, 10, 25, 2, 0), BERLIN, "2026-10-25T02:00:00+02:00"),
        (dt.datetime(2026, 10, 4, 2, 10), LORD_HOWE, "2026-10-04T02:30:00+11:00"),
        (dt.datetime(2026, 4, 5, 1, 40), LORD_HOWE, "2026-04-05T01:40:00+11:00"),
        (dt.datetime(2026, 11, 27, 16, 0), BERLIN, "2026-11-27T16:00:00+01:00"),
    ],
)
def test_resolve_local(naive: dt.datetime, tz: ZoneInfo, expected: str) -> None:
    assert resolve_local(naive, tz).astimezone(tz).isoformat() == expected


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        (1, dt.timedelta(minutes=5)),
        (2, dt.timedelta(minutes=10)),
        (3, dt.timedelta(minutes=20)),
        (4, dt.timedelta(minutes=40)),
        (5, dt.timedelta(minutes=80)),
        (6, dt.timedelta(minutes=160)),
        (7, dt.timedelta(minutes=320)),
        (8, dt.timedelta(hours=6)),
        (9, dt.timedelta(hours=6)),
        (10**9, dt.timedelta(hours=6)),
    ],
)
def test_backoff_doubles_up_to_six_hours(attempts: int, expected: dt.timedelta) -> None:
    assert backoff(attempts) == expected


@pytest.mark.parametrize("attempts", [0, -1])
def test_backoff_counts_from_one(attempts: int) -> None:
    with pytest.raises(ValueError, match="from 1"):
        backoff(attempts)


# fmt: off
@pytest.mark.parametrize(
    ("days", "start", "end", "expected"),
    [
        (["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00", default_window(BERLIN)),
        (
            ("SAT", " Sun ", "sat"), "9:30", "12:00",
            SendWindow(frozenset({5, 6}), dt.time(9, 30), dt.time(12), BERLIN),
        ),
        (
            ["wed"], "00:00", "23:59",
            SendWindow(frozenset({2}), dt.time(0), dt.time(23, 59), BERLIN),
        ),
    ],
)
# fmt: on
def test_parse_window(days: list[str], start: str, end: str, expected: SendWindow) -> None:
    assert parse_window(days, start, end, BERLIN) == expected


@pytest.mark.parametrize(
    ("days", "start", "end", "expected_error"),
    [
        ([], "09:00", "17:00", "days must name at least one day (mon, tue, wed"),
        ("mon", "09:00", "17:00", "days must be a list of day names"),
        (["mon", "funday"], "09:00", "17:00", "days: 'funday' is not a day name; use mon, tue"),
        ([1], "09:00", "17:00", "days: 1 is not a day name"),
        (["mon"], "9am", "17:00", "start: '9am' is not a 24-hour time; use HH:MM"),
        (["mon"], "09:00", "24:00", "end: '24:00' is not a 24-hour time"),
        (["mon"], "09:60", "17:00", "start: '09:60' is not a 24-hour time"),
        (["mon"], "", "17:00", "start: '' is not a 24-hour time"),
        (["mon"], "17:00", "09:00", "end 09:00 must be after start 17:00"),
        (["mon"], "09:00", "09:00", "end 09:00 must be after start 09:00"),
        (["mon"], "09:00", 1020, 'end must be a quoted "HH:MM" string, got 1020'),
    ],
)
def test_parse_window_says_what_is_wrong(
    days: Any, start: Any, end: Any, expected_error: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(expected_error)):
        parse_window(days, start, end, BERLIN)


@PROPERTY
@given(first=aware_times, second=aware_times)
def test_utc_iso_round_trips_and_sorts_in_time_order(
    first: dt.datetime, second: dt.datetime
) -> None:
    assert utc(from_iso(to_utc_iso(first))) == utc(first)
    assert (to_utc_iso(first) < to_utc_iso(second)) == (utc(first) < utc(second))


def test_from_iso_refuses_naive_text() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        from_iso("2026-11-27T16:00:00")
