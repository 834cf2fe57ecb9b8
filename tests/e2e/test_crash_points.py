"""A real `draft-feedback send-due` killed with SIGKILL at each step of sending.

Three requests are due; the server holds its reply at a chosen step so that the process can be
killed at a known point. Afterwards: nothing lost (every request is sent, queued, or
`interrupted` with the hint `list` prints), nothing sent twice by any later run, and `retry`
sends an interrupted request once when the user asks.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from smtp_faults import DROP, FaultyServer, Script, wait_for

from conftest import write_config

pytestmark = pytest.mark.slow
Run = Callable[..., Result]
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))
RECIPIENTS = ["p0@example.com", "p1@example.com", "p2@example.com"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultyServer]:
    faulty = FaultyServer(Script()).start()
    write_config(tmp_path / "config.yaml", faulty, timeout=30)  # type: ignore[arg-type]
    yield faulty
    faulty.stop()


def queue_three(run: Run) -> list[int]:
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    ids = []
    for n, address in enumerate(RECIPIENTS):
        result = run("new", "--to", f"Person {n} <{address}>", "--org", "Acme", "--rejected",
                     rejected, "--schedule", "--json")
        assert result.exit_code == 0, result.output
        ids.append(json.loads(result.stdout)["id"])
    return ids


def statuses(run: Run) -> dict[int, str]:
    return {r["id"]: r["status"] for r in json.loads(run("list", "--json", ok=True).stdout)}


def row(home: Path, request_id: int) -> sqlite3.Row:
    with sqlite3.connect(home / "outbox.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()


def start_run() -> subprocess.Popen[bytes]:
    return subprocess.Popen([COMMAND, "send-due"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)  # reaped, so its process id is really gone


def heal(server: FaultyServer, step: str) -> None:
    """Hang up on the killed run's connection and hold nothing from now on."""
    server.script.hold.clear()
    server.release(step, DROP)


def accepted_counts(server: FaultyServer) -> Counter[str]:
    return Counter(to for m in server.accepted for to in m.rcpt_tos)


def check_recovery(run: Run, server: FaultyServer, ids: list[int],
                   accepted_before: set[str]) -> None:
    """Later runs send what was queued, never what was interrupted; retry sends it once."""
    listing = run("list", ok=True).stdout
    interrupted = [i for i, s in statuses(run).items() if s == "interrupted"]
    for request_id in interrupted:
        assert f"draft-feedback retry {request_id}" in listing
    assert set(statuses(run).values()) <= {"scheduled", "interrupted", "sent"}
    run("send-due", ok=True)
    run("send-due", ok=True)
    counts = accepted_counts(server)
    assert set(counts.values()) <= {1}, f"sent twice: {counts}"
    final = statuses(run)
    for request_id, address in zip(ids, RECIPIENTS, strict=True):
        if request_id in interrupted:
            assert final[request_id] == "interrupted"
            assert (address in counts) == (address in accepted_before)
        else:
            assert final[request_id] == "sent"
            assert counts[address] == 1
    for request_id in interrupted:
        address = RECIPIENTS[ids.index(request_id)]
        if address not in accepted_before:
            run("retry", str(request_id), ok=True)
            assert "1 sent" in run("send-due", ok=True).stdout
            assert accepted_counts(server)[address] == 1
    assert set(accepted_counts(server)) == set(RECIPIENTS) | accepted_before


def test_killed_while_connecting_loses_nothing(run: Run, server: FaultyServer,
                                              private_paths: Path) -> None:
    ids = queue_three(run)
    server.script.hold.add("CONNECT")
    process = start_run()
    assert server.reached("CONNECT").wait(30)
    kill(process)
    # Nothing was claimed: every request is still queued, no attempt counted.
    assert [row(private_paths, i)["status"] for i in ids] == ["scheduled"] * 3
    assert [row(private_paths, i)["attempts"] for i in ids] == [0, 0, 0]
    heal(server, "CONNECT")
    check_recovery(run, server, ids, accepted_before=set())


def test_killed_after_the_claim_is_interrupted_not_resent(run: Run, server: FaultyServer,
                                                         private_paths: Path) -> None:
    ids = queue_three(run)
    server.script.hold.add("MAIL")
    process = start_run()
    assert server.reached("MAIL").wait(30)
    claimed = row(private_paths, ids[0])
    assert (claimed["status"], claimed["claim_pid"]) == ("sending", process.pid)
    assert claimed["eml"] is not None
    kill(process)
    assert statuses(run) == {ids[0]: "interrupted", ids[1]: "scheduled", ids[2]: "scheduled"}
    assert server.messages == []
    heal(server, "MAIL")
    check_recovery(run, server, ids, accepted_before=set())


def test_killed_during_data_is_interrupted_not_resent(run: Run, server: FaultyServer,
                                                     private_paths: Path) -> None:
    ids = queue_three(run)
    server.script.hold.add("DOT")
    process = start_run()
    assert server.reached("DOT").wait(30)
    kill(process)
    # The server holds the whole message but never said it took it.
    assert [m.rcpt_tos for m in server.messages] == [[RECIPIENTS[0]]]
    assert server.accepted == []
    assert statuses(run) == {ids[0]: "interrupted", ids[1]: "scheduled", ids[2]: "scheduled"}
    shown = run("show", str(ids[0]), "--eml", ok=True).stdout_bytes
    assert shown == server.messages[0].data
    heal(server, "DOT")
    check_recovery(run, server, ids, accepted_before=set())


def test_killed_after_the_server_accepted_before_the_outbox_knew(
        run: Run, server: FaultyServer, private_paths: Path) -> None:
    ids = queue_three(run)
    server.script.hold.add("DOT")
    process = start_run()
    assert server.reached("DOT").wait(30)
    # Hold the outbox's write lock, as another process might, so that the run cannot record
    # the send; then let the server accept the message and kill the run while it waits.
    lock = sqlite3.connect(private_paths / "outbox.sqlite3", isolation_level=None, timeout=10)
    try:
        lock.execute("BEGIN IMMEDIATE")
        server.release("DOT")
        assert wait_for(lambda: server.accepted, timeout=30)
        time.sleep(0.5)  # the run reads the 250 and blocks on the lock
        assert process.poll() is None
        kill(process)
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    assert row(private_paths, ids[0])["status"] == "sending"
    assert accepted_counts(server) == Counter({RECIPIENTS[0]: 1})
    # Delivered, but the outbox cannot know: interrupted, shown with the retry hint, and the
    # stored message is the one the server accepted, so the user can check what went out.
    assert statuses(run) == {ids[0]: "interrupted", ids[1]: "scheduled", ids[2]: "scheduled"}
    assert run("show", str(ids[0]), "--eml", ok=True).stdout_bytes == server.accepted[0].data
    heal(server, "DOT")
    check_recovery(run, server, ids, accepted_before={RECIPIENTS[0]})


def test_killed_after_the_outbox_recorded_the_sends(run: Run, server: FaultyServer,
                                                   private_paths: Path) -> None:
    ids = queue_three(run)
    server.script.hold.add("QUIT")
    process = start_run()
    assert server.reached("QUIT").wait(30)
    kill(process)
    assert statuses(run) == dict.fromkeys(ids, "sent")
    heal(server, "QUIT")
    run("send-due", ok=True)
    assert accepted_counts(server) == Counter(dict.fromkeys(RECIPIENTS, 1))
