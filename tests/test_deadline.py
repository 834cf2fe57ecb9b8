"""The wall-clock limit works where SIGALRM does not exist (Windows), and off the main thread."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from smtp_faults import FaultyServer, Script

from draft_feedback.deadline import deadline

from conftest import write_config

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def no_alarm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take away what Windows does not have: SIGALRM and interval timers."""
    monkeypatch.delattr(signal, "SIGALRM")
    monkeypatch.delattr(signal, "setitimer")
    monkeypatch.delattr(signal, "ITIMER_REAL")


def spin(seconds: float) -> None:
    """Busy Python work, standing in for a template loop that does not end."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_block_that_runs_too_long_gets_the_callers_error() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timed out: rendering took more than 0.2 s"):
        with deadline(0.2, lambda: TimeoutError("timed out: rendering took more than 0.2 s")):
            spin(10)
    assert time.monotonic() - started < 2


def test_a_block_that_finishes_in_time_is_left_alone_afterwards() -> None:
    with deadline(0.1, lambda: TimeoutError("late")):
        total = sum(range(1000))
    spin(0.3)  # a late watchdog would raise here
    assert total == 499500


def test_it_works_off_the_main_thread() -> None:
    caught: list[BaseException] = []

    def work() -> None:
        try:
            with deadline(0.2, lambda: TimeoutError("worker thread")):
                spin(10)
        except TimeoutError as exc:
            caught.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert [str(e) for e in caught] == ["worker thread"]


def test_an_inner_deadline_is_told_apart_from_the_outer_one() -> None:
    with pytest.raises(TimeoutError, match="outer"):
        with deadline(0.6, lambda: TimeoutError("outer")):
            with pytest.raises(ValueError, match="inner"):
                with deadline(0.1, lambda: ValueError("inner")):
                    spin(10)
            spin(10)


def test_new_works_without_sigalrm(run: Run, config_file: Path) -> None:
    result = run("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme",
                 "--role", "Data Analyst", "--rejected", "2026-11-27T16:00", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["id"], record["status"]) == (1, "draft")
    assert "Data Analyst" in record["subject"] and record["body"].startswith("Hi Priya,")


def test_a_runaway_template_is_stopped_without_sigalrm(run: Run, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from draft_feedback import drafting

    monkeypatch.setattr(drafting, "MAX_RENDER_SECONDS", 0.5)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "interview.txt.j2").write_text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n")
    write_config(tmp_path / "config.yaml", extra=f"templates_dir: {folder}\n")
    started = time.monotonic()
    result = run("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme")
    assert result.exit_code == 2
    assert f"{folder / 'interview.txt.j2'}" in result.stderr
    assert "ran for more than 0.5 seconds" in result.stderr
    assert time.monotonic() - started < 4


@pytest.fixture
def tarpit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyServer]:
    """A server that sends its greeting one byte every 0.3 s: each read is quick, the whole
    is endless, so only the deadline can end it."""
    monkeypatch.setenv("DRAFT_FEEDBACK_SMTP_PASSWORD", "app-password-123")
    server = FaultyServer(Script(trickle={"CONNECT": 0.3})).start()
    write_config(tmp_path / "config.yaml", server, timeout=1)  # type: ignore[arg-type]
    yield server
    server.stop()


def test_a_tarpit_server_is_cut_off_without_sigalrm(run: Run, tarpit: FaultyServer) -> None:
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    queued = run("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme",
                 "--rejected", rejected, "--schedule", "--json")
    assert queued.exit_code == 0, queued.output
    started = time.monotonic()
    result = run("send-due")
    assert time.monotonic() - started < 8, "twice smtp.timeout (1 s) must end the exchange"
    assert result.exit_code == 1
    assert "did not answer in time" in result.stderr
    assert "stays queued" in result.stderr
    record = json.loads(run("list", "--json").stdout)[0]
    assert (record["status"], record["attempts"]) == ("scheduled", 1)
    assert tarpit.messages == []


def test_an_imap_tarpit_is_cut_off_and_nothing_changes(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same trickling greeting from an IMAP port: sync ends after 2 x imap.timeout."""
    monkeypatch.setenv("DRAFT_FEEDBACK_IMAP_PASSWORD", "imap-password-123")
    server = FaultyServer(Script(trickle={"CONNECT": 0.3})).start()
    try:
        write_config(tmp_path / "config.yaml", extra=(
            f"imap:\n  host: 127.0.0.1\n  port: {server.port}\n  security: none\n"
            "  user: alex@example.com\n  timeout: 1\n"))
        started = time.monotonic()
        result = run("sync")
        assert time.monotonic() - started < 8, "twice imap.timeout (1 s) must end the exchange"
    finally:
        server.stop()
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: the IMAP server 127.0.0.1:{server.port} could not be reached (no answer in "
        "time (imap.timeout)); check imap.host and imap.port; no request was changed\n")
