"""send-due against a real local SMTP server: what arrives, once, and every way it can fail."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
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
    assert "stored in conftest MemoryKeyring (conftest.MemoryKeyring)" in result.stdout
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


def test_a_file_backend_works_once_allowed(run: Run, with_login: SMTPServer,
                                          tmp_path: Path) -> None:
    from test_credentials import PlaintextFileKeyring

    keyring.set_keyring(PlaintextFileKeyring(tmp_path / "keyring.json"))
    run("login", "--password-stdin", "--allow-insecure-keyring", input="app-password-123\n",
        ok=True)
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


# --- one request that cannot be built does not block the queue -------------------------------

BROKEN_ROWS = [
    pytest.param("to_addr", "priya@example.com\r\nBcc: all@example.com", id="header-injection"),
    pytest.param("to_name", "Priya\nShah", id="line-break-in-name"),
    pytest.param("to_addr", "not an address", id="not-an-address"),
    pytest.param("rejected_at", "yesterday", id="unreadable-time"),
    pytest.param("areas", "{not json", id="damaged-json"),
]


@pytest.mark.parametrize(("column", "value"), BROKEN_ROWS)
def test_a_request_that_cannot_be_built_fails_alone(run: Run, configured: SMTPServer,
                                                    private_paths: Path, column: str,
                                                    value: str) -> None:
    import sqlite3

    ids = [queue(run, to=f"Person {n} <p{n}@example.com>")["id"] for n in range(3)]
    with sqlite3.connect(private_paths / "outbox.sqlite3") as conn:
        conn.execute(f"UPDATE requests SET {column} = ? WHERE id = ?", (value, ids[1]))
    result = run("send-due")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert f"request {ids[1]}: failed (the message could not be built" in result.stderr
    assert "2 sent, 1 not sent" in result.stdout
    assert sorted(m.rcpt_tos[0] for m in configured.received) == [
        "p0@example.com", "p2@example.com"]
    listed = {r["id"]: r for r in json.loads(run("list", "--json", ok=True).stdout)}
    assert [listed[i]["status"] for i in ids] == ["sent", "failed", "sent"]
    assert listed[ids[1]]["last_error"].startswith("the message could not be built")
    assert "Bcc" not in b"".join(m.data for m in configured.received).decode()
    # Nothing is tried again on its own.
    assert "0 sent" in run("send-due", ok=True).stdout
    assert len(configured.received) == 2


# --- an edit and a running send-due: what is shown is what was sent ---------------------------

def test_an_edit_before_the_claim_is_what_is_sent_and_one_after_is_refused(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys
    import textwrap

    from smtp_faults import FaultyServer, Script, wait_for

    server = FaultyServer(Script(hold={"DOT"})).start()
    try:
        write_config(tmp_path / "config.yaml", server, timeout=30)  # type: ignore[arg-type]
        first = queue(run, to="Person 0 <p0@example.com>")["id"]
        second = queue(run, to="Person 1 <p1@example.com>")["id"]
        command = str(Path(sys.executable).with_name("draft-feedback"))
        editor = tmp_path / "editor.py"
        editor.write_text(textwrap.dedent(f"""\
            import os, sys, time
            open({str(tmp_path / "opened")!r}, "w").close()
            while not os.path.exists({str(tmp_path / "save")!r}):
                time.sleep(0.02)
            path = sys.argv[1]
            text = open(path).read().replace("\\nSubject: ", "\\nSubject: Edited ", 1)
            open(path, "w").write(text)
            """))
        monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
        # The user opens the first request in the editor while it is still queued ...
        editing = subprocess.Popen([command, "edit", str(first)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert wait_for((tmp_path / "opened").exists)
        # ... and a run claims it meanwhile, having read the second one too.
        sending = subprocess.Popen([command, "send-due"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert server.reached("DOT").wait(30)
        (tmp_path / "save").touch()
        _, edit_err = editing.communicate(timeout=60)
        assert editing.returncode == 2
        assert f"request {first} is being sent right now, so your edit was not saved" in (
            edit_err)
        # The second request was read by the run before the edit, but not yet claimed.
        edited = run("edit", str(second), ok=True)
        assert "Edited " in edited.stdout, edited.output
        server.release("DOT")
        out, err = sending.communicate(timeout=60)
        assert sending.returncode == 0, err
        assert wait_for(lambda: len(server.accepted) == 2)
        # The Subject header as a reader sees it: folded lines joined again.
        subjects = {m.rcpt_tos[0]: re.sub(rb"\r\n[ \t]", b" ", m.data.split(
                        b"\r\nSubject: ", 1)[1]).split(b"\r\n", 1)[0]
                    for m in server.accepted}
        shown = {r["id"]: r for r in json.loads(run("list", "--json", ok=True).stdout)}
        assert shown[first]["status"] == shown[second]["status"] == "sent"
        assert not shown[first]["subject"].startswith("Edited ")
        assert shown[second]["subject"].startswith("Edited ")
        assert subjects["p0@example.com"].decode() == shown[first]["subject"]
        assert subjects["p1@example.com"].decode() == shown[second]["subject"]
    finally:
        server.stop()


# --- a password that is not ASCII -------------------------------------------------------------

UTF8_PASSWORDS = ["Zürich-Pässwört-42", "пароль-Secret-9", "密码🔑pass-word"]


@pytest.fixture(params=["PLAIN", "LOGIN"])
def utf8_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SMTPServer]:
    """aiosmtpd offering one login mechanism, checking the password as UTF-8 bytes."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from conftest import Behaviour, Handler

    behaviour = Behaviour(password=UTF8_PASSWORDS[0])
    handler = Handler(behaviour)
    attempts: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        password = auth_data.password.decode("utf-8")
        attempts.append((auth_data.login.decode("utf-8"), password))
        return AuthResult(success=password == behaviour.password, handled=False)

    excluded = ["LOGIN" if request.param == "PLAIN" else "PLAIN"]
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_require_tls=False,
                            auth_exclude_mechanism=excluded)
    controller.start()
    server = SMTPServer("127.0.0.1", port, handler, behaviour, attempts)
    write_config(tmp_path / "config.yaml", server, login=True)
    try:
        yield server
    finally:
        controller.stop()


@pytest.mark.parametrize("password", UTF8_PASSWORDS)
def test_a_non_ascii_password_logs_in_as_utf8(run: Run, utf8_server: SMTPServer,
                                              monkeypatch: pytest.MonkeyPatch,
                                              password: str) -> None:
    utf8_server.behaviour.password = password
    monkeypatch.setenv("DRAFT_FEEDBACK_SMTP_PASSWORD", password)
    queue(run)
    result = run("send-due")
    assert result.exit_code == 0, result.output
    assert utf8_server.auth_attempts == [("alex@example.com", password)]
    assert len(utf8_server.received) == 1


@pytest.mark.parametrize("password", UTF8_PASSWORDS)
def test_a_refused_non_ascii_password_is_never_echoed_and_changes_nothing(
        run: Run, utf8_server: SMTPServer, private_paths: Path, password: str) -> None:
    utf8_server.behaviour.password = "the-right-one"
    run("login", "--password-stdin", input=password + "\n", ok=True)
    records = [queue(run, to=f"P {n} <p{n}@example.com>") for n in range(2)]
    result = run("send-due")
    assert result.exit_code == 1
    assert "refused the login" in result.stderr
    assert "draft-feedback login" in result.stderr
    # smtplib's ASCII error quoted the character and its position; nothing of it may show.
    for char in {c for c in password if not c.isascii()}:
        assert char not in result.output, f"{char!r} of the password is in the output"
    for start in range(len(password) - 3):
        assert password[start:start + 4] not in result.output
    assert "position" not in result.output
    for record in records:
        after = status(run, record["id"])
        assert (after["status"], after["attempts"], after["last_error"]) == (
            "scheduled", 0, None)
    stored = b"".join(p.read_bytes() for p in private_paths.iterdir() if p.is_file())
    assert password.encode("utf-8") not in stored
