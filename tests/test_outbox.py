"""The SQLite outbox: files and modes, migrations, states and claims."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from draft_feedback.errors import BadInput, Failure
from draft_feedback.outbox import (
    JSON_KEYS,
    MIGRATIONS,
    NewRequest,
    Outbox,
    Record,
    from_utc_text,
    utc_text,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def request(**changes: object) -> NewRequest:
    values: dict[str, object] = dict(
        scenario="interview", tone="warm", to_name="Priya Shah", to_addr="priya@example.com",
        org="Acme", role="Data Analyst", areas=("interview-system-design",),
        questions=("How could I strengthen my answers?",), highlight="", future=True,
        thank_you_only=False, subject="Thank you", body="Dear Priya,\n", findings=(),
        tz="Europe/Berlin", rejected_at=NOW - timedelta(days=3),
        earliest_send_at=NOW - timedelta(days=1), created_at=NOW - timedelta(days=3),
        message_id="<1@example.com>")
    values.update(changes)
    return NewRequest(**values)  # type: ignore[arg-type]


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "data")
    yield box
    box.close()


def test_files_are_private(outbox: Outbox) -> None:
    outbox.add(request())
    assert stat.S_IMODE(outbox.home.stat().st_mode) == 0o700
    assert stat.S_IMODE(outbox.path.stat().st_mode) == 0o600
    for extra in outbox.home.iterdir():
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0, extra


def test_times_round_trip_as_fixed_width_utc() -> None:
    berlin = datetime(2026, 3, 29, 3, 30).astimezone(UTC)
    assert from_utc_text(utc_text(berlin)) == berlin
    assert len(utc_text(NOW)) == len(utc_text(NOW + timedelta(days=4000)))


def test_add_and_read_back(outbox: Outbox) -> None:
    record = outbox.add(request())
    assert record.id == 1 and record.status == "draft"
    assert record.to == "Priya Shah <priya@example.com>"
    data = record.to_json()
    assert data["rejected_at"] == "2026-11-27T10:00:00+01:00"
    assert data["send_at"] is None and data["attempts"] == 0
    assert set(data) >= {"id", "status", "scenario", "to", "org", "role", "subject", "body",
                         "rejected_at", "earliest_send_at", "send_at", "created_at", "sent_at",
                         "attempts", "last_error", "message_id", "findings"}


def test_migrations_are_recorded_once(outbox: Outbox) -> None:
    outbox.connect()
    outbox.close()
    outbox.connect()
    rows = outbox.connect().execute("SELECT id, name FROM schema_migrations").fetchall()
    assert [tuple(r) for r in rows] == [(i + 1, m[0]) for i, m in enumerate(MIGRATIONS)]


def test_old_schema_is_migrated(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir()
    conn = sqlite3.connect(home / "outbox.sqlite3")
    conn.execute("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
                 "UNIQUE, applied_at TEXT NOT NULL)")
    conn.executescript(MIGRATIONS[0][1])
    conn.execute("INSERT INTO schema_migrations VALUES (1, ?, '2026-01-01')", (MIGRATIONS[0][0],))
    conn.execute("INSERT INTO requests (scenario, tone, to_addr, subject, body, tz, rejected_at, "
                 "earliest_send_at, created_at) VALUES ('interview', 'warm', 'a@example.com', "
                 "'S', 'B', 'UTC', ?, ?, ?)", (utc_text(NOW), utc_text(NOW), utc_text(NOW)))
    conn.commit()
    conn.close()
    box = Outbox(home)
    record = box.get(1)
    assert record.reflection == {} and record.reply is None
    box.close()


def test_foreign_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "data"
    home.mkdir()
    path = home / "outbox.sqlite3"
    path.write_bytes(b"my tax return, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(Failure, match="not a draft-feedback outbox"):
        Outbox(home).records()
    assert path.read_bytes() == before


def test_other_programs_database_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "data"
    home.mkdir()
    conn = sqlite3.connect(home / "outbox.sqlite3")
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(Failure, match="another program"):
        Outbox(home).records()


def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    if sys.platform == "win32" or __import__("os").geteuid() == 0:
        pytest.skip("root ignores file permissions")
    home = tmp_path / "ro"
    home.mkdir(mode=0o500)
    with pytest.raises(Failure, match="cannot create the outbox"):
        Outbox(home).records()


def test_data_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(Failure, match="cannot create the outbox"):
        Outbox(blocker / "data").records()


def test_state_changes_follow_the_rules(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, True)
    assert outbox.get(record.id).status == "scheduled"
    outbox.cancel(record.id)
    assert outbox.get(record.id).status == "cancelled"
    with pytest.raises(BadInput, match="request 1 is cancelled; only a request that is draft "
                                       "or scheduled can be scheduled"):
        outbox.schedule(record.id, NOW, True)
    with pytest.raises(BadInput, match="no request with id 99"):
        outbox.get(99)


def test_claim_is_exclusive_and_marks_sending(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, False)
    claim = outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"bytes")
    assert claim is not None
    assert outbox.get(record.id).status == "sending"
    assert outbox.get(record.id).attempts == 1
    assert outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"bytes") is None
    assert outbox.mark_sent(claim, NOW)
    assert outbox.get(record.id).status == "sent"
    assert outbox.get(record.id).eml == b"bytes"


def test_nothing_is_due_before_the_cooling_off(outbox: Outbox) -> None:
    record = outbox.add(request(earliest_send_at=NOW + timedelta(hours=1)))
    # Even a row whose send time is earlier (written by hand, say) waits for the cooling-off.
    outbox.connect().execute("UPDATE requests SET status = 'scheduled', send_at = ?",
                             (utc_text(NOW - timedelta(hours=5)),))
    assert outbox.due(NOW) == []
    assert outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"x") is None
    assert [r.id for r in outbox.due(NOW + timedelta(hours=1))] == [record.id]


def test_dead_claim_becomes_interrupted(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, False)
    claim = outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"x")
    assert claim is not None
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    outbox.connect().execute("UPDATE requests SET claim_pid = ?", (int(dead.stdout),))
    assert outbox.expire_claims(NOW) == [record.id]
    assert outbox.get(record.id).status == "interrupted"
    # Interrupted is never resent automatically.
    assert outbox.due(NOW + timedelta(days=1)) == []


def test_expired_lease_becomes_interrupted(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, False)
    outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"x")
    assert outbox.expire_claims(NOW + timedelta(minutes=2)) == []
    assert outbox.expire_claims(NOW + timedelta(minutes=4)) == [record.id]


def test_transient_failures_back_off_then_fail(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, False)
    when = NOW
    for attempt in range(1, 6):
        claim = outbox.claim(record.id, when, timedelta(minutes=3), lambda _: b"x")
        assert claim is not None, attempt
        updated = outbox.mark_retry(claim, "451 try later", when + timedelta(minutes=5))
        when += timedelta(hours=7)
    assert updated.status == "failed" and updated.attempts == 5
    assert updated.last_error == "451 try later"
    retried = outbox.retry(record.id, when)
    assert retried.status == "scheduled" and retried.attempts == 0


def test_list_pages_newest(outbox: Outbox) -> None:
    for _ in range(5):
        outbox.add(request())
    assert [r.id for r in outbox.records(limit=2)] == [4, 5]
    assert outbox.count() == 5 and outbox.count("draft") == 5


def _plan(outbox: Outbox, call: Callable[[], object]) -> str:
    """Return the query plans of the SELECTs that `call` runs on the outbox."""
    conn = outbox.connect()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects
    return " | ".join(row[3] for sql in selects
                      for row in conn.execute("EXPLAIN QUERY PLAN " + sql))


@pytest.mark.parametrize(("name", "call", "expected"), [
    ("due", lambda box: box.due(NOW), "requests_status_send_at (status=? AND send_at<?)"),
    ("expire_claims", lambda box: box.expire_claims(NOW), "(status=?)"),
    ("records by status", lambda box: box.records(status="sent", limit=51),
     "requests_status_id (status=?)"),
    ("newest records", lambda box: box.records(limit=51), "SCAN requests"),
    ("needing_attention", lambda box: box.needing_attention(10), "requests_status_id"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_send_due_and_list_queries_search_an_index(outbox: Outbox, name: str,
                                                    call: Callable[[Outbox], object],
                                                    expected: str) -> None:
    # The history only grows: what send-due and list read must not cost more as it does,
    # so none of their queries sorts the table or reads it row by row to filter it.
    for _ in range(3):
        outbox.add(request())
    plan = _plan(outbox, lambda: call(outbox))
    assert expected in plan, plan
    assert "TEMP B-TREE" not in plan or name == "needing_attention", plan
    if "SCAN requests" in plan and "INDEX" not in plan:
        assert name == "newest records", plan  # newest first by id, stopped by the LIMIT


def test_sent_is_written_with_the_next_claim_in_one_durable_commit(outbox: Outbox) -> None:
    records = [outbox.add(request(message_id=f"<{i}@example.com>")) for i in range(3)]
    for record in records:
        outbox.schedule(record.id, NOW, False)
    due = outbox.due(NOW)
    other = sqlite3.connect(outbox.path)
    statements: list[str] = []
    outbox.connect().set_trace_callback(statements.append)
    claims = []
    for record in due:
        claim = outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"x")
        assert claim is not None
        claims.append(claim)
        assert outbox.mark_sent(claim, NOW)
        # Not written yet: another process still sees the request being sent.
        assert other.execute("SELECT status FROM requests WHERE id = ?",
                             (record.id,)).fetchone() == ("sending",)
    per_message = [s.split()[0] for s in statements]
    # One transaction per message (the previous send, then the claim), no PRAGMA, no read-back.
    assert per_message == ["BEGIN", "SELECT", "UPDATE", "COMMIT",
                           "BEGIN", "UPDATE", "SELECT", "UPDATE", "COMMIT",
                           "BEGIN", "UPDATE", "SELECT", "UPDATE", "COMMIT"]
    assert outbox.connect().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    outbox.flush()
    assert [r[0] for r in other.execute("SELECT status FROM requests")] == ["sent"] * 3
    # The claim built from the record it was given is the one a read-back would give.
    fresh = outbox.get(claims[0].record.id)
    assert claims[0].record == replace(fresh, status="sending", sent_at=None,
                                       claim_until=NOW + timedelta(minutes=3))
    other.close()
    Outbox(outbox.home / "elsewhere").flush()  # nothing written yet: nothing to do


def test_a_read_sees_a_send_recorded_a_moment_ago(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, False)
    claim = outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"x")
    assert claim is not None and outbox.mark_sent(claim, NOW)
    assert outbox.get(record.id).status == "sent"
    assert outbox.get(record.id).sent_at == NOW


def test_a_send_whose_claim_was_taken_away_is_named(outbox: Outbox) -> None:
    record = outbox.add(request())
    outbox.schedule(record.id, NOW, False)
    claim = outbox.claim(record.id, NOW, timedelta(minutes=3), lambda _: b"x")
    assert claim is not None
    outbox.connect().execute("UPDATE requests SET claim_token = 'another run'")
    outbox.mark_sent(claim, NOW)
    outbox.flush()
    assert outbox.lost_sent == {record.id}
    assert outbox.get(record.id).status == "sending"


# The keys of the JSON record as SPEC.md lists them today (its example, then the threading,
# reflection and reply keys). A key the spec adds is one more line in outbox.JSON_KEYS, the one
# place the record's JSON is described, and one more line here.
SPEC_JSON_KEYS = {
    "id", "status", "scenario", "to", "org", "role", "subject", "body", "rejected_at",
    "earliest_send_at", "send_at", "created_at", "sent_at", "attempts", "last_error",
    "message_id", "findings", "tone", "areas", "questions", "in_reply_to", "references",
    "reflection", "reply", "replied_at",
    "kind", "parent_id", "held_reason", "follow_up_at", "takeaways",  # the reply loop
}


def test_json_record_prints_the_spec_keys_from_the_one_list(outbox: Outbox) -> None:
    data = outbox.add(request(reflection={"fit": "yes"})).to_json()
    assert tuple(data) == JSON_KEYS
    assert set(JSON_KEYS) == SPEC_JSON_KEYS
    assert data["areas"] == ["interview-system-design"]
    assert data["reflection"] == {"fit": "yes"}
    assert data["send_at"] is None and data["attempts"] == 0


def test_record_fields_are_the_outbox_columns(outbox: Outbox) -> None:
    """A field without a column, or a column without a field, fails here before it ships."""
    outbox.add(request())
    conn = sqlite3.connect(outbox.path)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(requests)")}
    finally:
        conn.close()
    # problem is why a damaged row could not be read: worked out on reading, never stored.
    stored = {"refs" if f.name == "references" else f.name for f in fields(Record)
              if f.name != "problem"}
    # claim_host is the outbox's own bookkeeping (whose process holds a claim), never shown.
    assert stored | {"claim_host"} == columns
    assert {f.name for f in fields(NewRequest)} < {f.name for f in fields(Record)}


def test_every_new_request_field_reads_back_unchanged(outbox: Outbox) -> None:
    new = request(highlight="the pairing exercise", in_reply_to="<a@example.com>",
                  references="<r@example.com> <a@example.com>", reflection={"gap": "SQL"},
                  findings=({"rule": "r", "severity": "warning"},))
    record = outbox.add(new)
    for f in fields(NewRequest):
        assert getattr(record, f.name) == getattr(new, f.name), f.name


def test_the_reply_loop_reads_recent_requests_without_walking_the_history(
        outbox: Outbox) -> None:
    # sync and every send-due ask for requests sent in the last 90 days and for sent requests
    # that want a follow-up; a history of 100,000 old requests must not be read for either.
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    record = outbox.add(request())
    conn = outbox.connect()
    old = utc_text(now - timedelta(days=400))
    with conn:
        conn.executemany(
            "INSERT INTO requests (status, scenario, tone, to_addr, subject, body, tz, "
            "rejected_at, earliest_send_at, created_at, sent_at) "
            "VALUES ('sent', 'interview', 'warm', ?, 's', 'b', 'UTC', ?, ?, ?, ?)",
            [(f"p{i}@example.com", old, old, old, old) for i in range(2000)])
        conn.execute("UPDATE requests SET status = 'sent', sent_at = ?, follow_up_days = 7 "
                     "WHERE id = ?", (utc_text(now - timedelta(days=1)), record.id))
    recent = outbox.watched(now - timedelta(days=90))
    assert [r.id for r in recent] == [record.id]
    assert [r.id for r in outbox.wanting_follow_up()] == [record.id]
    for query in (
            "SELECT * FROM requests WHERE kind IN ('request', 'follow-up') AND ((status = "
            "'sent' AND sent_at >= ?) OR (status = 'scheduled' AND hold_override = 0)) "
            "ORDER BY id",
            "SELECT * FROM requests AS r WHERE r.status = 'sent' AND r.kind = 'request' AND "
            "r.follow_up_days IS NOT NULL AND NOT EXISTS (SELECT 1 FROM requests AS c WHERE "
            "c.parent_id = r.id AND c.kind = 'follow-up') ORDER BY r.id"):
        params = (utc_text(now - timedelta(days=90)),) if "?" in query else ()
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params))
        assert "SCAN" not in plan, plan
        assert ("requests_status_sent_at (status=? AND sent_at>?)" in plan
                or "requests_wanting_follow_up" in plan), plan
