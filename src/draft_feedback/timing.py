"""Cooling-off and send-window policy: pure functions of aware datetimes and an explicit `now`."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from draft_feedback.errors import BadInput
from draft_feedback.patterns import compile_kept

MIN_COOLING_OFF_HOURS = 24
DEFAULT_COOLING_OFF_HOURS = 48
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

BACKOFF_FIRST = dt.timedelta(minutes=5)
BACKOFF_CAP = dt.timedelta(hours=6)

UTC = dt.UTC

# How far into_window looks ahead. A weekly window is open at least once in any 8 days; the slack
# covers a whole skipped local day (Pacific/Apia skipped 2011-12-30) landing on the only open day.
_SEARCH_DAYS = 60
# Step used to spot a change of UTC offset. tzdata has no zone whose offset changes twice within
# 6 hours, so a change between two probes is one transition, which bisection pins to the second.
_PROBE = 6 * 3600

_WHEN_EXAMPLE = "for example 2026-11-27 or 2026-11-27T16:00"
# Stricter than datetime.fromisoformat, which in 3.11 also takes any separator character
# ("2026-11-27x16:00") and bare hours; those are more likely typos than intent.
_WHEN_RE = compile_kept(
    r"""
    (?P<date>\d{4}-\d{2}-\d{2})
    (?:[Tt\ ]
        (?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?)
        (?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    )?
    """,
    re.VERBOSE,
)
_HHMM_RE = compile_kept(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class SendWindow:
    """Days of the week and a same-day span of wall-clock time in `tz` when mail may go out."""

    days: frozenset[int]
    start: dt.time
    end: dt.time
    tz: ZoneInfo
    holidays: str | None = None  # a country or subdivision code: GB, US-NY, DE-BY

    def __post_init__(self) -> None:
        """Refuse windows that could never open, so into_window always finds an opening."""
        if not self.days:
            raise ValueError("a send window needs at least one day")
        if not self.days <= frozenset(range(7)):
            raise ValueError(f"send window days must be 0 (Monday) to 6 (Sunday), got {self.days}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("send window start and end are wall-clock times without a timezone")
        if not self.end > self.start:
            raise ValueError(
                f"send window end {self.end:%H:%M} must be after start {self.start:%H:%M}"
            )

    def contains(self, t: dt.datetime) -> bool:
        """Whether `t` falls on an allowed day, in [start, end) on the wall clock of `tz`."""
        wall = _require_aware(t, "t").astimezone(self.tz)
        if wall.weekday() not in self.days or not self.start <= wall.time() < self.end:
            return False
        # The holiday is the one of the window's own calendar day, as the recipient lives it.
        return self.holidays is None or wall.date() not in holiday_calendar(self.holidays)

    def describe(self) -> str:
        """Human wording such as 'mon-fri 09:00-17:00 Europe/Berlin, except GB holidays'."""
        text = f"{_describe_days(self.days)} {self.start:%H:%M}-{self.end:%H:%M} {self.tz}"
        return text + (f", except {self.holidays} public holidays" if self.holidays else "")

    def holiday(self, t: dt.datetime) -> str | None:
        """The name of the public holiday `t` falls on in the window's timezone, if any."""
        if self.holidays is None:
            return None
        name = holiday_calendar(self.holidays).get(t.astimezone(self.tz).date())
        return str(name) if name else None


def _split_code(code: str) -> tuple[str, str | None]:
    country, _, subdivision = code.strip().upper().partition("-")
    return country, subdivision or None


@functools.lru_cache(maxsize=8)
def holiday_calendar(code: str) -> Mapping[dt.date, str]:
    """The public holidays of a country or subdivision (the holidays package; loaded on use)."""
    import holidays

    country, subdivision = _split_code(code)
    return holidays.country_holidays(country, subdiv=subdivision)


def check_holidays(code: str) -> str:
    """Return a holidays code normalised ('us-ny' -> 'US-NY'), or a ValueError saying why not."""
    country, subdivision = _split_code(code)
    if not re.fullmatch(r"[A-Z]{2,3}", country) or (
            subdivision is not None and not re.fullmatch(r"[A-Z0-9]{1,6}", subdivision)):
        raise ValueError(f"{code!r} is not a country or subdivision code like GB, US-NY or DE-BY")
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{country!r} is not a country the holidays package knows; use a "
                         "two-letter code like GB, US or DE")
    if subdivision is not None and subdivision not in supported[country]:
        some = ", ".join(f"{country}-{s}" for s in list(supported[country])[:6])
        raise ValueError(f"{subdivision!r} is not a subdivision of {country}; for example {some}")
    return country + (f"-{subdivision}" if subdivision else "")


def default_window(tz: ZoneInfo) -> SendWindow:
    """The built-in send window: Monday to Friday, 09:00 to 17:00 in `tz`."""
    return SendWindow(frozenset(range(5)), dt.time(9), dt.time(17), tz)


def parse_window(days: Sequence[str], start: str, end: str, tz: ZoneInfo,
                 holidays: str | None = None) -> SendWindow:
    """Build a SendWindow from config values, raising ValueError that says what is wrong."""
    allowed = ", ".join(DAY_NAMES)
    # A bare string is a Sequence[str] too; "mon" would otherwise read as the days m, o, n.
    if isinstance(days, str) or not isinstance(days, Sequence):
        raise ValueError(f"days must be a list of day names ({allowed}), got {days!r}")
    if not days:
        raise ValueError(f"days must name at least one day ({allowed})")
    numbers: set[int] = set()
    for name in days:
        key = name.strip().lower() if isinstance(name, str) else ""
        if key not in DAY_NAMES:
            raise ValueError(f"days: {name!r} is not a day name; use {allowed}")
        numbers.add(DAY_NAMES.index(key))
    start_time = _parse_hhmm(start, "start")
    end_time = _parse_hhmm(end, "end")
    if not end_time > start_time:
        raise ValueError(
            f"end {end_time:%H:%M} must be after start {start_time:%H:%M} "
            "(a send window lies within one day)"
        )
    return SendWindow(frozenset(numbers), start_time, end_time, tz, holidays)


def earliest_send(rejected_at: dt.datetime, cooling_off_hours: int) -> dt.datetime:
    """The rejection time plus the cooling-off, as elapsed hours, in the rejection's timezone."""
    _require_aware(rejected_at, "rejected_at")
    if cooling_off_hours < MIN_COOLING_OFF_HOURS:
        raise ValueError(
            f"cooling-off must be at least {MIN_COOLING_OFF_HOURS} hours, got {cooling_off_hours}"
        )
    # Arithmetic in UTC: adding to a zoned datetime adds wall-clock hours, which across a
    # daylight-saving change would be one hour more or less than the promised cooling-off.
    later = _utc(rejected_at) + dt.timedelta(hours=cooling_off_hours)
    return later.astimezone(rejected_at.tzinfo)


def into_window(t: dt.datetime, window: SendWindow | None) -> dt.datetime:
    """The earliest instant at or after `t` at which `window` is open; `t` itself if open now."""
    _require_aware(t, "t")
    if window is None or window.contains(t):
        return t
    chunk = dt.timedelta(days=1)
    begin = _utc(t)
    for _ in range(_SEARCH_DAYS):
        finish = begin + chunk
        # Scanning in consecutive one-day slices keeps the answer the earliest: any opening in
        # a later slice is later than every opening in this one.
        found = [c for c in _openings(window, begin, finish) if window.contains(c)]
        if found:
            return min(found).astimezone(window.tz)
        begin = finish
    raise ValueError(f"the send window {window.describe()} never opens after {t.isoformat()}")


def pick_send_time(
    rejected_at: dt.datetime,
    cooling_off_hours: int,
    window: SendWindow | None,
    now: dt.datetime,
) -> dt.datetime:
    """The time the tool picks: the later of the earliest send and `now`, moved into the window."""
    earliest = earliest_send(rejected_at, cooling_off_hours)
    _require_aware(now, "now")
    base = earliest if _utc(earliest) >= _utc(now) else now
    return into_window(base, window)


def check_requested(at: dt.datetime, earliest: dt.datetime) -> dt.datetime:
    """Return a user-chosen `at` unchanged, or refuse it if it falls inside the cooling-off."""
    _require_aware(at, "at")
    _require_aware(earliest, "earliest")
    if _utc(at) >= _utc(earliest):
        return at
    # Rounded up to the second so that the time shown, typed back as --at, is accepted.
    shown = _ceil_second(earliest).astimezone(at.tzinfo)
    raise BadInput(
        f"--at: {at.isoformat()} is before the cooling-off ends; the earliest allowed time is "
        f"{shown.isoformat()}. Choose --at on or after it, or leave --at out to send at the "
        "earliest allowed time."
    )


# Every stored time sorts as text only with a four-digit year; nothing real is older than this.
EARLIEST_PLAUSIBLE = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST_AHEAD = dt.timedelta(days=366)


def parse_when(
    text: str,
    tz: ZoneInfo,
    *,
    option: str,
    now: dt.datetime,
    allow_future: bool = True,
    date_time: dt.time | None = None,
) -> dt.datetime:
    """Parse an ISO 8601 date or date-time given for `option` into an aware datetime in `tz`."""
    _require_aware(now, "now")
    raw = text.strip()
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    if not raw:
        raise BadInput(
            f"{option}: no time given; expected an ISO 8601 date or date-time ({_WHEN_EXAMPLE})"
        )
    match = _WHEN_RE.fullmatch(raw) if raw.isascii() else None
    if match is None:
        raise BadInput(
            f"{option}: {shown!r} is not an ISO 8601 date or date-time ({_WHEN_EXAMPLE})"
        )
    try:
        if match["time"] is None:
            day = dt.date.fromisoformat(match["date"])
            result = resolve_local(dt.datetime.combine(day, date_time or dt.time()), tz)
        else:
            offset = match["offset"] or ""
            parsed = dt.datetime.fromisoformat(
                f"{match['date']}T{match['time'].replace(',', '.')}{offset.upper()}"
            )
            if parsed.tzinfo is None:
                result = resolve_local(parsed, tz)
            else:
                result = parsed.astimezone(tz)
    except (ValueError, OverflowError) as exc:
        # Out-of-range fields ("2026-13-01", "25:00") and dates at the very edge of the calendar
        # that no UTC offset can move; Python's reason is the most precise hint.
        raise BadInput(
            f"{option}: {shown!r} is not a valid ISO 8601 date or date-time ({exc}); "
            f"{_WHEN_EXAMPLE}"
        ) from None
    if _utc(result) < EARLIEST_PLAUSIBLE:
        raise BadInput(
            f"{option}: {shown!r} is before 1970; give the real date with a four-digit year "
            f"({_WHEN_EXAMPLE})"
        )
    if allow_future and _utc(result) > _utc(now) + LATEST_AHEAD:
        raise BadInput(
            f"{option}: {shown!r} is more than a year ahead; give a time within the next "
            f"year ({_WHEN_EXAMPLE})"
        )
    if not allow_future and _utc(result) > _utc(now):
        current = now.astimezone(tz).replace(microsecond=0)
        raise BadInput(
            f"{option}: {result.isoformat()} is in the future; a rejection can only be in the "
            f"past (now is {current.isoformat()})"
        )
    return result


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failed attempts: 5 minutes, doubling, max 6h."""
    if attempts < 1:
        raise ValueError(f"attempts counts failures from 1, got {attempts}")
    # The exponent is capped first so a huge attempt count cannot build a huge integer.
    return min(BACKOFF_FIRST * 2 ** min(attempts - 1, 16), BACKOFF_CAP)


def resolve_local(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Place a wall-clock time in `tz`: a gap moves to where it ends, a fold takes the first."""
    if naive.tzinfo is not None:
        raise ValueError(f"expected a wall-clock time without a timezone, got {naive.isoformat()}")
    first = naive.replace(tzinfo=tz, fold=0)
    if _exists(first):
        return first
    # In a gap fold=0 applies the offset from before the change and fold=1 the one after, so the
    # two readings straddle the transition, which is the first real instant after the gap.
    second = naive.replace(tzinfo=tz, fold=1)
    low, high = sorted((_epoch(first), _epoch(second)))
    return _from_epoch(_transition(tz, math.floor(low), math.ceil(high))).astimezone(tz)


def to_utc_iso(t: dt.datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so stored times sort as text in time order."""
    return _utc(_require_aware(t, "t")).isoformat(timespec="microseconds")


def from_iso(text: str) -> dt.datetime:
    """Read back an aware ISO 8601 time written by to_utc_iso or isoformat()."""
    return _require_aware(dt.datetime.fromisoformat(text), "stored time")


def _require_aware(t: dt.datetime, name: str) -> dt.datetime:
    """Refuse naive datetimes, which would silently be read as the machine's local time."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {t.isoformat()}")
    return t


def _utc(t: dt.datetime) -> dt.datetime:
    """`t` in UTC. Compare through this: same-tzinfo comparisons ignore fold and misorder folds."""
    return t.astimezone(UTC)


def _epoch(t: dt.datetime) -> float:
    """Seconds since the epoch, valid for gap times too (unlike a round trip through the zone)."""
    return t.timestamp()


def _from_epoch(seconds: int) -> dt.datetime:
    """A UTC datetime from whole seconds since the epoch."""
    return dt.datetime.fromtimestamp(seconds, UTC)


def _offset(tz: ZoneInfo, seconds: int) -> dt.timedelta | None:
    """The UTC offset in force in `tz` at an instant given as seconds since the epoch."""
    return _from_epoch(seconds).astimezone(tz).utcoffset()


def _exists(t: dt.datetime) -> bool:
    """Whether an aware wall-clock time is one the zone's clocks actually show."""
    back = t.astimezone(UTC).astimezone(t.tzinfo)
    return back.replace(tzinfo=None) == t.replace(tzinfo=None)


def _transition(tz: ZoneInfo, low: int, high: int) -> int:
    """The first second in (low, high] with the offset of `high`; exactly one change between."""
    before = _offset(tz, low)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(tz, middle) == before:
            low = middle
        else:
            high = middle
    return high


def _openings(window: SendWindow, begin: dt.datetime, finish: dt.datetime) -> list[dt.datetime]:
    """UTC instants in [begin, finish) where the window may start being open.

    The window can only switch from closed to open when the wall clock reaches `start` (once, or
    twice in a fold) or when the clock jumps at a UTC-offset transition (which is also where a
    `start` inside a daylight-saving gap resolves to).
    """
    tz = window.tz
    candidates: list[dt.datetime] = []
    first_day = begin.astimezone(tz).date() - dt.timedelta(days=1)
    last_day = finish.astimezone(tz).date()
    day = first_day
    while day <= last_day:
        naive = dt.datetime.combine(day, window.start)
        for fold in (0, 1):
            local = naive.replace(tzinfo=tz, fold=fold)
            if _exists(local):
                candidates.append(_utc(local))
        day += dt.timedelta(days=1)
    low = math.floor(_epoch(begin))
    high = math.ceil(_epoch(finish))
    probe = low
    while probe < high:
        step = min(probe + _PROBE, high)
        if _offset(tz, probe) != _offset(tz, step):
            candidates.append(_from_epoch(_transition(tz, probe, step)))
        probe = step
    return [c for c in candidates if begin <= c < finish]


def _ceil_second(t: dt.datetime) -> dt.datetime:
    """`t` rounded up to a whole second."""
    if t.microsecond == 0:
        return t
    return _utc(t).replace(microsecond=0) + dt.timedelta(seconds=1)


def _parse_hhmm(value: str, name: str) -> dt.time:
    """A 24-hour "HH:MM" config value as a time, or a ValueError naming `name`."""
    if not isinstance(value, str):
        # YAML 1.1 reads an unquoted 17:00 as the sexagesimal number 1020.
        raise ValueError(
            f'{name} must be a quoted "HH:MM" string, got {value!r} '
            '(YAML reads an unquoted 17:00 as the number 1020; write "17:00")'
        )
    match = _HHMM_RE.fullmatch(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(
            f"{name}: {value!r} is not a 24-hour time; use HH:MM from 00:00 to 23:59, "
            "for example 09:00"
        )
    return dt.time(int(match[1]), int(match[2]))


def _describe_days(days: frozenset[int]) -> str:
    """Compact day list: consecutive runs as ranges, e.g. 'mon-fri' or 'mon,wed,fri-sun'."""
    ordered = sorted(days)
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" for r in runs
    ]
    return ",".join(parts)
