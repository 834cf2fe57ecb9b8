"""send-due against a mail server that misbehaves at every step of the SMTP conversation.

Three kinds of outcome, each checked against the outbox afterwards:
- the server cannot be reached or talked to: every due request stays queued, one attempt counted;
- the config cannot work with this server (TLS, login): the run stops, no request changes;
- one transaction goes wrong: that request alone is queued again, failed, or `interrupted`
  (never resent on its own) when the server may already have the message (RFC 1047).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from smtp_faults import DROP, STALL, FaultyServer, Script, server_context

from draft_feedback.config import parse_config
from draft_feedback.sending import lease_for

from conftest import write_config

Run = Callable[..., Result]
Start = Callable[..., FaultyServer]
PASSWORD = "app-password-123"


@pytest.fixture
def faulty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    """Start a FaultyServer and point the config at it."""
    servers: list[FaultyServer] = []
    monkeypatch.setenv("DRAFT_FEEDBACK_SMTP_PASSWORD", PASSWORD)

    def start(script: Script | None = None, *, security: str = "none", login: bool = False,
              timeout: int = 1) -> FaultyServer:
        server = FaultyServer(script).start()
        servers.append(server)
        path = write_config(tmp_path / "config.yaml", server,  # type: ignore[arg-type]
                            login=login, timeout=timeout)
        path.write_text(path.read_text().replace("security: none", f"security: {security}"))
        return server

    yield start
    for server in servers:
        server.stop()


def queue(run: Run, count: int = 2) -> list[int]:
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    ids = []
    for n in range(count):
        result = run("new", "--to", f"Person {n} <p{n}@example.com>", "--org", "Acme",
                     "--rejected", rejected, "--schedule", "--json")
        assert result.exit_code == 0, result.output
        ids.append(json.loads(result.stdout)["id"])
    return ids


def records(run: Run) -> list[dict[str, Any]]:
    return json.loads(run("list", "--json", ok=True).stdout)


def send_due(run: Run) -> tuple[Result, float]:
    started = time.monotonic()
    result = run("send-due")
    return result, time.monotonic() - started


# --- the server cannot be reached or talked to: everything stays queued --------------------

UNREACHABLE = [
    pytest.param(Script(replies={"CONNECT": "421 4.3.2 Service not available, closing"}),
                 "421 4.3.2 Service not available", id="421-on-connect"),
    pytest.param(Script(replies={"CONNECT": "HTTP/1.1 400 Bad Request"}),
                 "reply is not SMTP", id="not-smtp-at-all"),
    pytest.param(Script(replies={"CONNECT": "220 " + "x" * 10_000}),
                 "Line too long", id="greeting-too-long"),
    pytest.param(Script(replies={"CONNECT": DROP}), "closed the connection",
                 id="hangs-up-at-once"),
    pytest.param(Script(replies={"CONNECT": STALL}), "did not answer in time",
                 id="silent-at-greeting"),
    pytest.param(Script(trickle={"CONNECT": 0.3}), "did not answer in time",
                 id="tarpit-greeting"),
]


@pytest.mark.parametrize(("script", "expected_error"), UNREACHABLE)
def test_unreachable_server_keeps_every_request_queued(run: Run, faulty: Start, script: Script,
                                                      expected_error: str) -> None:
    server = faulty(script)
    queue(run)
    result, elapsed = send_due(run)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert expected_error in result.stderr
    assert "stays queued" in result.stderr
    assert elapsed < 10, "smtp.timeout (1 s here) must end the run"
    for record in records(run):
        assert (record["status"], record["attempts"]) == ("scheduled", 1)
        assert expected_error in record["last_error"]
    assert server.messages == []
    # The backoff keeps the next cron run from hammering the server.
    again, _ = send_due(run)
    assert "0 sent" in again.stdout
    assert server.connections == 1


# --- the config cannot work with this server: the run stops, nothing changes ----------------

CONFIG_FAULTS = [
    pytest.param(Script(), {"security": "starttls"}, "smtp.security=starttls",
                 id="starttls-wanted-not-offered"),
    pytest.param(Script(replies={"MAIL": "530 5.7.0 Must issue a STARTTLS command first"}), {},
                 "smtp.security", id="starttls-demanded-530"),
    pytest.param(Script(replies={"MAIL": "530 5.7.0 Authentication required"}), {},
                 "smtp.login", id="login-demanded-530"),
    pytest.param(Script(), {"login": True}, "smtp.login: false", id="login-wanted-not-offered"),
    pytest.param(Script(replies={"EHLO": "250-faults.test\r\n250 AUTH PLAIN LOGIN"}),
                 {"login": True}, "refused the login", id="login-refused-535"),
    pytest.param(Script(), {"security": "ssl"}, "check smtp.security", id="tls-to-a-plain-port"),
]


@pytest.mark.parametrize(("script", "settings", "expected_error"), CONFIG_FAULTS)
def test_config_the_server_cannot_work_with_stops_and_changes_nothing(
        run: Run, faulty: Start, script: Script, settings: dict[str, Any],
        expected_error: str) -> None:
    server = faulty(script, **settings)
    queue(run)
    result, elapsed = send_due(run)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert expected_error in result.stderr
    assert "Traceback" not in result.output
    assert PASSWORD not in result.output
    assert elapsed < 10
    for record in records(run):
        assert (record["status"], record["attempts"], record["last_error"]) == (
            "scheduled", 0, None)
    assert server.accepted == []


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_unverifiable_certificate_gets_no_password(run: Run, faulty: Start, tmp_path: Path,
                                                     security: str) -> None:
    context, _cert = server_context(tmp_path)
    server = faulty(Script(tls=context, implicit_tls=security == "ssl",
                           replies={"AUTH": "235 2.7.0 Authentication successful"}),
                    security=security, login=True)
    queue(run, 1)
    result, _ = send_due(run)
    assert result.exit_code == 1
    assert "could not be verified" in result.stderr
    assert "no password was given" in result.stderr
    assert not any(c.upper().startswith("AUTH") for c in server.commands)
    assert PASSWORD.encode() not in b"".join(m.data for m in server.messages)
    assert [(r["status"], r["attempts"]) for r in records(run)] == [("scheduled", 0)]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_trusted_certificate_logs_in_over_tls_and_sends(
        run: Run, faulty: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        security: str) -> None:
    context, cert = server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = faulty(Script(tls=context, implicit_tls=security == "ssl",
                           replies={"AUTH": "235 2.7.0 Authentication successful"}),
                    security=security, login=True)
    queue(run, 1)
    result, _ = send_due(run)
    assert result.exit_code == 0, result.output
    assert [m.rcpt_tos for m in server.accepted] == [["p0@example.com"]]
    if security == "starttls":
        assert server.tls_sessions == 1
        commands = [c.split(" ")[0].upper() for c in server.commands]
        assert commands.index("STARTTLS") < commands.index("AUTH")


# --- one transaction goes wrong ------------------------------------------------------------

TRANSACTION_FAULTS = [
    # (replies, trickle, first request, second request, text in the first's last_error)
    pytest.param({"MAIL": "421 4.3.2 Shutting down"}, {}, "scheduled", None,
                 "421 4.3.2 Shutting down", id="421-at-mail"),
    pytest.param({"MAIL": STALL}, {}, "scheduled", None, "did not answer in time",
                 id="silent-at-mail"),
    pytest.param({"RCPT": DROP}, {}, "scheduled", None, "closed the connection",
                 id="hangs-up-at-rcpt"),
    pytest.param({"RCPT": "hello there"}, {}, "scheduled", None, "reply is not SMTP",
                 id="garbage-at-rcpt"),
    pytest.param({"RCPT": "550 5.1.1 No such user here"}, {}, "failed", "failed",
                 "550 5.1.1 No such user here", id="550-at-rcpt"),
    pytest.param({"RCPT": "452 4.2.2 Mailbox full"}, {}, "scheduled", "scheduled",
                 "452 4.2.2 Mailbox full", id="452-at-rcpt"),
    pytest.param({"DATA": "554 5.5.1 No valid recipients"}, {}, "failed", "failed",
                 "554 5.5.1 No valid recipients", id="554-at-data"),
    pytest.param({"DOT": "451 4.3.0 Try again later"}, {}, "scheduled", "scheduled",
                 "451 4.3.0 Try again later", id="451-at-end-of-data"),
    pytest.param({"DOT": "552 5.3.4 Message too big"}, {}, "failed", "failed",
                 "552 5.3.4 Message too big", id="552-at-end-of-data"),
    pytest.param({"DOT": DROP}, {}, "interrupted", None, "closed the connection",
                 id="hangs-up-after-data-rfc1047"),
    pytest.param({"DOT": STALL}, {}, "interrupted", None, "did not answer in time",
                 id="silent-after-data"),
    pytest.param({}, {"DOT": 0.3}, "interrupted", None, "did not answer in time",
                 id="tarpit-after-data"),
    # After the message went out, anything but a clean 2xx/4xx/5xx means it may have arrived.
    pytest.param({"DOT": "hello there"}, {}, "interrupted", None, "reply is not SMTP",
                 id="garbage-after-data"),
    pytest.param({"DOT": "HTTP/1.1 200 OK"}, {}, "interrupted", None, "reply is not SMTP",
                 id="http-after-data"),
    pytest.param({"DOT": "354 go ahead"}, {}, "interrupted", None, "354 go ahead",
                 id="3xx-after-data"),
    pytest.param({"DOT": "999 who knows"}, {}, "interrupted", None, "999 who knows",
                 id="out-of-range-code-after-data"),
    pytest.param({"DOT": "x" * 10_000}, {}, "interrupted", None, "Line too long",
                 id="over-long-reply-after-data"),
    # Before the message went out nothing can have arrived: queued again.
    pytest.param({"DATA": "hello there"}, {}, "scheduled", None, "reply is not SMTP",
                 id="garbage-instead-of-354"),
    pytest.param({"DATA": DROP}, {}, "scheduled", None, "closed the connection",
                 id="hangs-up-instead-of-354"),
]


@pytest.mark.parametrize(("replies", "trickle", "first", "second", "expected_error"),
                         TRANSACTION_FAULTS)
def test_a_fault_in_one_transaction(run: Run, faulty: Start, replies: dict[str, str],
                                    trickle: dict[str, float], first: str, second: str | None,
                                    expected_error: str) -> None:
    server = faulty(Script(replies=dict(replies), trickle=dict(trickle)))
    one, two = queue(run)
    result, elapsed = send_due(run)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert elapsed < 10, "smtp.timeout and the time limit (1 s and 2 s here) end the run"
    after = {r["id"]: r for r in records(run)}
    assert (after[one]["status"], after[one]["attempts"]) == (first, 1)
    assert expected_error in after[one]["last_error"]
    if second is None:
        # The connection is no use after this fault: the run stopped, the next one waits.
        assert (after[two]["status"], after[two]["attempts"]) == ("scheduled", 0)
    else:
        assert (after[two]["status"], after[two]["attempts"]) == (second, 1)
    assert server.accepted == []
    if first == "interrupted":
        listing = run("list", ok=True).stdout
        assert f"draft-feedback retry {one}" in listing
        # The server may hold the first message: a healthy server later gets only the second.
        server.script.replies.clear()
        server.script.trickle.clear()
        assert "1 sent" in run("send-due", ok=True).stdout
        assert [m.rcpt_tos for m in server.accepted] == [["p1@example.com"]]
        assert "0 sent" in run("send-due", ok=True).stdout
        # The server saw the first message's bytes once, never twice.
        assert [m.rcpt_tos for m in server.messages].count(["p0@example.com"]) <= 1
        assert json.loads(run("show", str(one), "--json", ok=True).stdout)["status"] == (
            "interrupted")


def test_any_2xx_after_data_is_a_send(run: Run, faulty: Start) -> None:
    server = faulty(Script(replies={"DOT": "251 2.0.0 queued as 7F3A"}))
    queue(run)
    result, _ = send_due(run)
    assert result.exit_code == 0, result.output
    assert "2 sent" in result.stdout
    assert [r["status"] for r in records(run)] == ["sent", "sent"]
    assert len(server.accepted) == 2


def test_the_default_timeout_is_60_seconds_and_a_claim_outlives_the_time_limit() -> None:
    config = parse_config("smtp: {host: mail.example.com}\n", Path("/cfg/config.yaml"))
    assert config.smtp.timeout == 60
    # A transaction is cut off after twice smtp.timeout in all; its claim lasts longer, so a
    # live sender is never taken for a dead one.
    assert lease_for(config) > timedelta(seconds=2 * config.smtp.timeout)


@pytest.mark.parametrize("script", [Script(replies={"QUIT": STALL}), Script(trickle={"QUIT": 0.3}),
                                    Script(replies={"QUIT": DROP})],
                         ids=["silent-at-quit", "tarpit-at-quit", "hangs-up-at-quit"])
def test_a_rude_goodbye_changes_nothing_and_does_not_hang(run: Run, faulty: Start,
                                                          script: Script) -> None:
    server = faulty(script)
    queue(run)
    result, elapsed = send_due(run)
    assert result.exit_code == 0, result.output
    assert "2 sent" in result.stdout
    assert elapsed < 10
    assert [r["status"] for r in records(run)] == ["sent", "sent"]
    assert len(server.accepted) == 2


# --- OAuth2: the bearer token goes only over a verified connection --------------------------

TOKEN = "ya29.secret-access-token"


@pytest.fixture
def oauth2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """A finished OAuth2 file, and Google's token endpoint replaced (the outer edge)."""
    import yagmail.oauth2

    calls: list[dict[str, str]] = []

    def refresh_authorization(**info: str) -> tuple[str, int]:
        calls.append(info)
        return TOKEN, 3600

    monkeypatch.setattr(yagmail.oauth2, "refresh_authorization", refresh_authorization)
    (tmp_path / "oauth2.json").write_text(json.dumps({
        "email_address": "alex@example.com", "google_client_id": "client-id",
        "google_client_secret": "client-secret", "google_refresh_token": "refresh"}))
    return calls


def use_oauth2(tmp_path: Path, file: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text().replace("  timeout:",
                                                 f"  oauth2_file: {file}\n  timeout:"))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_unverifiable_certificate_gets_no_oauth2_token(
        run: Run, faulty: Start, tmp_path: Path, oauth2: list[dict[str, str]],
        security: str) -> None:
    context, _cert = server_context(tmp_path)
    server = faulty(Script(tls=context, implicit_tls=security == "ssl",
                           replies={"AUTH": "235 2.7.0 Accepted"}), security=security)
    use_oauth2(tmp_path, tmp_path / "oauth2.json")
    queue(run, 1)
    result, _ = send_due(run)
    assert result.exit_code == 1
    assert "could not be verified" in result.stderr
    assert not any(c.upper().startswith("AUTH") for c in server.commands)
    assert oauth2 == [], "no token is even fetched for a server that failed verification"
    assert [(r["status"], r["attempts"]) for r in records(run)] == [("scheduled", 0)]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_trusted_certificate_gets_the_oauth2_token_over_tls(
        run: Run, faulty: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        oauth2: list[dict[str, str]], security: str) -> None:
    import base64

    context, cert = server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = faulty(Script(tls=context, implicit_tls=security == "ssl",
                           replies={"AUTH": "235 2.7.0 Accepted"}), security=security)
    use_oauth2(tmp_path, tmp_path / "oauth2.json")
    queue(run, 1)
    result, _ = send_due(run)
    assert result.exit_code == 0, result.output
    assert [m.rcpt_tos for m in server.accepted] == [["p0@example.com"]]
    auth = [c for c in server.commands if c.upper().startswith("AUTH")]
    assert len(auth) == 1 and auth[0].startswith("AUTH XOAUTH2 ")
    assert f"auth=Bearer {TOKEN}" in base64.b64decode(auth[0].split()[-1]).decode()
    if security == "starttls":
        commands = [c.split(" ")[0].upper() for c in server.commands]
        assert commands.index("STARTTLS") < commands.index("AUTH")


def test_a_refused_oauth2_login_stops_the_run_and_changes_nothing(
        run: Run, faulty: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        oauth2: list[dict[str, str]]) -> None:
    context, cert = server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = faulty(Script(tls=context, replies={"AUTH": "535 5.7.8 Token expired"}),
                    security="starttls")
    use_oauth2(tmp_path, tmp_path / "oauth2.json")
    queue(run, 2)
    result, _ = send_due(run)
    assert result.exit_code == 1
    assert "refused the login" in result.stderr and "535 5.7.8 Token expired" in result.stderr
    assert TOKEN not in result.output
    assert [(r["status"], r["attempts"]) for r in records(run)] == [("scheduled", 0)] * 2
    assert server.messages == []


@pytest.mark.parametrize(("content", "expected_error"), [
    pytest.param(None, "smtp.oauth2_file does not exist", id="missing"),
    pytest.param('{"installed": {"client_id": "x", "client_secret": "y"}}',
                 "not a finished OAuth2 file", id="unfinished-google-download"),
    pytest.param('{"google_client_id": "x"}', "not a finished OAuth2 file", id="keys-missing"),
    pytest.param("not json", "cannot be read (not JSON)", id="not-json"),
])
def test_an_unfinished_oauth2_file_is_refused_without_asking(
        run: Run, faulty: Start, tmp_path: Path, content: str | None,
        expected_error: str) -> None:
    file = tmp_path / "google.json"
    if content is not None:
        file.write_text(content)
    context, _cert = server_context(tmp_path)
    server = faulty(Script(tls=context), security="starttls")
    use_oauth2(tmp_path, file)
    queue(run, 1)
    result, elapsed = send_due(run)
    assert result.exit_code == 1
    assert expected_error in result.stderr
    assert "yagmail.SMTP(" in result.stderr  # the fix: the one-time setup on a terminal
    assert "Your 'google_client_id'" not in result.output  # yagmail's questions never start
    assert elapsed < 10
    assert server.connections == 0
    assert [(r["status"], r["attempts"]) for r in records(run)] == [("scheduled", 0)]


# --- what a server or a reply says never steers the terminal ------------------------------

ESCAPES = [
    pytest.param("\x1b]0;pwned window title\x07", id="osc-0-title"),
    pytest.param("\x1b]52;c;cm0gLXJmIH4K\x07", id="osc-52-clipboard"),
    pytest.param("\x1b]52;c;cm0gLXJmIH4K\x1b\\", id="osc-52-st"),
    pytest.param("\x1b[2J\x1b[31m", id="csi-clear-and-colour"),
    pytest.param("\x9b2J", id="c1-csi"),
    pytest.param("\u202e", id="bidi-override"),
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_escape_sequences_from_outside_never_reach_the_terminal(
        run: Run, faulty: Start, tmp_path: Path, escape: str) -> None:
    faulty(Script(replies={"RCPT": f"550 5.1.1 no such user {escape}here"}))
    one, _ = queue(run)
    result, _ = send_due(run)
    assert result.exit_code == 1
    assert "550 5.1.1 no such user here" in result.stderr
    shown = run("show", str(one), ok=True).stdout + run("list", ok=True).stdout
    assert "no such user here" in shown
    for text in (result.output, shown):
        assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
        assert "\x07" not in text
