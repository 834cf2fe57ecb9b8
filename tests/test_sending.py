"""send-due against a real local SMTP server: what arrives, once, and every way it can fail."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import keyring
import pytest
from click.testing import Result
from keyring.backends import fail

from conftest import PRIYA, SMTPServer, free_port, write_config

Run = Callable[..., Result]


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def queue(run: Run, *extra: str, to: str = PRIYA, rejected: str | None = None) -> dict:
    result = run("new", "--to", to, "--org", "Acme", "--role", "Data Analyst",
                 "--rejected", rejected or days_ago(3), "--ask", "interview-system-design",
                 "--schedule", "--json", *extra)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "scheduled"
    return record


def status(run: Run, request_id: int) -> dict:
    return json.loads(run("show", str(request_id), "--json", ok=True).stdout)


@pytest.fixture
def configured(tmp_path: Path, smtp_server: SMTPServer) -> SMTPServer:
    write_config(tmp_path / "config.yaml", smtp_server)
    return smtp_server


def test_due_request_is_sent_once_with_the_right_headers(run: Run,
                                                         configured: SMTPServer) -> None:
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.stdout
    assert len(configured.received) == 1
    got = configured.received[0]
    assert got.mail_from == "alex@example.com"
    assert got.rcpt_tos == ["priya@example.com"]
    msg = got.message
    assert msg["From"] == "Alex Rivera <alex@example.com>"
    assert msg["To"] == "Priya Shah <priya@example.com>"
    assert msg["Subject"] == record["subject"]
    assert msg["Message-ID"] == record["message_id"]
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg["Date"]
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n").strip() == record["body"].strip()
    after = status(run, record["id"])
    assert after["status"] == "sent" and after["sent_at"] is not None
    assert after["attempts"] == 1
    again = run("send-due")
    assert again.exit_code == 0 and "0 sent" in again.stdout
    assert len(configured.received) == 1


def test_show_eml_prints_the_bytes_that_were_sent(run: Run, configured: SMTPServer) -> None:
    record = queue(run)
    run("send-due", ok=True)
    shown = run("show", str(record["id"]), "--eml", ok=True).stdout_bytes
    assert shown == configured.received[0].data
    assert all(len(line) <= 998 for line in shown.split(b"\r\n"))


def test_nothing_leaves_before_the_cooling_off(run: Run, configured: SMTPServer) -> None:
    record = queue(run, rejected=days_ago(1))
    assert record["send_at"] >= record["earliest_send_at"]
    result = run("send-due")
    assert result.exit_code == 0 and "0 sent" in result.stdout
    assert configured.received == []
    assert status(run, record["id"])["status"] == "scheduled"


def test_dry_run_sends_and_changes_nothing(run: Run, configured: SMTPServer) -> None:
    record = queue(run)
    result = run("send-due", "--dry-run", ok=True)
    assert f"request {record['id']}: would be sent to {PRIYA}" in result.stdout
    assert configured.received == []
    assert status(run, record["id"])["attempts"] == 0


def test_limit_sends_only_that_many(run: Run, configured: SMTPServer) -> None:
    for _ in range(3):
        queue(run, "--again")
    assert "1 sent" in run("send-due", "--limit", "1", ok=True).stdout
    assert len(configured.received) == 1
    assert "2 sent" in run("send-due", ok=True).stdout
    assert len(configured.received) == 3
    assert len({m.message["Message-ID"] for m in configured.received}) == 3


def test_temporary_refusal_keeps_the_request_queued(run: Run, configured: SMTPServer) -> None:
    configured.behaviour.data_reply = "451 4.3.0 Mailbox busy, try later"
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    assert "451 4.3.0 Mailbox busy, try later" in result.stderr
    after = status(run, record["id"])
    assert after["status"] == "scheduled"
    assert after["attempts"] == 1
    assert after["last_error"] == "451 4.3.0 Mailbox busy, try later"
    # list shows when the next try is due (5 minutes on), not the original send time.
    row = next(line for line in run("list", ok=True).stdout.splitlines()
               if line.startswith(f"{record['id']} "))
    shown = datetime.strptime(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row).group(),
                              "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Europe/Berlin"))
    first = datetime.fromisoformat(after["send_at"])
    assert timedelta(minutes=4) <= shown - first <= timedelta(minutes=6), row
    # The backoff keeps the next run from trying again at once.
    configured.behaviour.data_reply = None
    assert "0 sent" in run("send-due").stdout
    assert configured.received == []


def test_permanent_refusal_fails_with_the_server_reply(run: Run, configured: SMTPServer) -> None:
    configured.behaviour.rcpt_reply = "550 5.1.1 No such user here"
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    after = status(run, record["id"])
    assert after["status"] == "failed"
    assert "550 5.1.1 No such user here" in after["last_error"]
    listing = run("list", ok=True).stdout
    assert f"draft-feedback retry {record['id']}" in listing


def test_server_down_counts_an_attempt(run: Run, tmp_path: Path) -> None:
    down = SMTPServer("127.0.0.1", free_port(), None, None)  # type: ignore[arg-type]
    write_config(tmp_path / "config.yaml", down)
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    assert "stays queued" in result.stderr
    after = status(run, record["id"])
    assert after["status"] == "scheduled" and after["attempts"] == 1
    assert "refused" in after["last_error"].lower()


def test_stalled_server_ends_at_the_timeout(run: Run, tmp_path: Path,
                                           smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server, timeout=1)
    smtp_server.behaviour.data_delay = 3
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    after = status(run, record["id"])
    # The server had the message when it went quiet: never resent on its own.
    assert after["status"] == "interrupted"


def test_connection_dropped_after_data_is_interrupted_not_resent(
        run: Run, configured: SMTPServer) -> None:
    configured.behaviour.drop_after_data = True
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    assert status(run, record["id"])["status"] == "interrupted"
    listing = run("list", ok=True).stdout
    assert "interrupted" in listing
    assert f"draft-feedback retry {record['id']}" in listing
    configured.behaviour.drop_after_data = False
    assert "0 sent" in run("send-due").stdout
    assert configured.received == []
    run("retry", str(record["id"]), ok=True)
    assert "1 sent" in run("send-due", ok=True).stdout
    assert len(configured.received) == 1


@pytest.fixture
def with_login(tmp_path: Path, smtp_server: SMTPServer) -> SMTPServer:
    smtp_server.behaviour.password = "app-password-123"
    write_config(tmp_path / "config.yaml", smtp_server, login=True)
    return smtp_server


def test_password_from_keyring_logs_in(run: Run, with_login: SMTPServer) -> None:
    result = run("login", "--password-stdin", input="app-password-123\n", ok=True)
    assert "stored in the system keyring" in result.stdout
    queue(run)
    run("send-due", ok=True)
    assert with_login.auth_attempts == [("alex@example.com", "app-password-123")]
    assert len(with_login.received) == 1


def test_yagmail_keyring_entry_is_used_last(run: Run, with_login: SMTPServer) -> None:
    keyring.set_password("yagmail", "alex@example.com", "app-password-123")
    queue(run)
    run("send-due", ok=True)
    assert len(with_login.received) == 1


def test_environment_variable_wins(run: Run, with_login: SMTPServer,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_password("draft-feedback", "alex@example.com", "stale")
    monkeypatch.setenv("DRAFT_FEEDBACK_SMTP_PASSWORD", "app-password-123")
    queue(run)
    run("send-due", ok=True)
    assert with_login.auth_attempts == [("alex@example.com", "app-password-123")]


def test_wrong_password_stops_and_changes_nothing(run: Run, with_login: SMTPServer) -> None:
    keyring.set_password("draft-feedback", "alex@example.com", "wrong")
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    assert "refused the login" in result.stderr
    assert "draft-feedback login" in result.stderr
    assert "DRAFT_FEEDBACK_SMTP_PASSWORD" in result.stderr
    assert "wrong" not in result.output
    after = status(run, record["id"])
    assert (after["status"], after["attempts"], after["last_error"]) == ("scheduled", 0, None)


def test_missing_password_stops_and_changes_nothing(run: Run, with_login: SMTPServer) -> None:
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    assert "no SMTP password stored for alex@example.com" in result.stderr
    assert "DRAFT_FEEDBACK_SMTP_PASSWORD" in result.stderr
    assert status(run, record["id"])["attempts"] == 0
    assert with_login.auth_attempts == []


def test_no_keyring_backend_names_the_variable(run: Run, with_login: SMTPServer) -> None:
    keyring.set_keyring(fail.Keyring())
    record = queue(run)
    result = run("send-due")
    assert result.exit_code == 1
    assert "no usable system keyring" in result.stderr
    assert "DRAFT_FEEDBACK_SMTP_PASSWORD" in result.stderr
    assert status(run, record["id"])["attempts"] == 0
    login = run("login", "--password-stdin", input="secret\n")
    assert login.exit_code == 1 and "DRAFT_FEEDBACK_SMTP_PASSWORD" in login.stderr


def test_keyrings_alt_backend(run: Run, with_login: SMTPServer, tmp_path: Path) -> None:
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")  # type: ignore[misc]
    keyring.set_keyring(backend)
    run("login", "--password-stdin", input="app-password-123\n", ok=True)
    queue(run)
    run("send-due", ok=True)
    assert len(with_login.received) == 1
    assert "removed" in run("logout", ok=True).stdout
    assert keyring.get_password("draft-feedback", "alex@example.com") is None


def test_password_is_in_no_file_of_the_data_folder(run: Run, with_login: SMTPServer,
                                                   private_paths: Path, tmp_path: Path) -> None:
    run("login", "--password-stdin", input="app-password-123\n", ok=True)
    queue(run)
    run("send-due", ok=True)
    for path in list(private_paths.rglob("*")) + [tmp_path / "config.yaml"]:
        if path.is_file():
            assert b"app-password-123" not in path.read_bytes(), path


def test_worker_reports_a_run_it_could_not_do(run: Run, with_login: SMTPServer) -> None:
    import os
    import signal
    import threading

    queue(run)
    # No password stored: each tick fails; the worker must say why instead of looping quietly.
    stopper = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    stopper.start()
    try:
        result = run("worker", "--interval", "1")
    finally:
        stopper.cancel()
    assert result.exit_code == 1
    assert "no SMTP password stored for alex@example.com" in result.stderr
    assert "Worker stopped." in result.stdout
    assert with_login.received == []
