"""The yagmail connection and the one send loop. Only here is yagmail imported."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from draft_feedback.config import Config
from draft_feedback.errors import Failure
from draft_feedback.outbox import Claim, Outbox, Record
from draft_feedback.timing import backoff

PASSWORD_HINT = "run `draft-feedback login`, or set DRAFT_FEEDBACK_SMTP_PASSWORD"


@dataclass
class Outcome:
    """What happened to one request in a run."""

    id: int
    status: str
    detail: str = ""
    connection_lost: bool = False  # the run cannot go on with this connection


@dataclass
class Report:
    """What a send-due run did, request by request."""

    outcomes: list[Outcome] = field(default_factory=list)
    interrupted_before: list[int] = field(default_factory=list)
    waiting_for_window: int = 0
    dry_run: bool = False
    stopped: str = ""

    @property
    def failed(self) -> bool:
        """True if any request was not sent because of an error."""
        return any(o.status != "sent" and o.status != "due" for o in self.outcomes)


def lease_for(config: Config) -> timedelta:
    """How long a claim is honoured: longer than any SMTP transaction can take (time_limit)."""
    return timedelta(seconds=config.smtp.timeout * 3 + 60)


def in_window(record: Record, config: Config, now: datetime) -> bool:
    """A time the tool picked waits for the send window; a time the user chose does not."""
    if not record.window_applies or config.send_window is None:
        return True
    return config.send_window.contains(now)


def due_now(outbox: Outbox, config: Config, now: datetime,
            limit: int | None) -> tuple[list[Record], int]:
    """Return the requests to send now, and how many more are due but wait for the window."""
    due = outbox.due(now)
    ready = [r for r in due if in_window(r, config, now)]
    waiting = len(due) - len(ready)
    return (ready[:limit] if limit is not None else ready), waiting


def time_limit(seconds: float, what: str) -> AbstractContextManager[None]:
    """End an SMTP exchange after `seconds` in all, from the main thread.

    smtp.timeout bounds each read, so a server that trickles a byte at a time (a tarpit) would
    otherwise hold a run, and its claim, for as long as it likes.
    """
    from draft_feedback.deadline import deadline

    # "timed out" is what _describe looks for once smtplib has wrapped this error.
    return deadline(seconds, lambda: TimeoutError(
        f"timed out: {what} took more than {seconds:g} s"))


class AuthFailure(Failure):
    """The server refused the login: stop, change nothing."""


class Unreachable(Exception):
    """The server could not be reached or talked to; try again later."""


def _describe(exc: BaseException) -> str:
    import smtplib  # here and below, not at the top: a cron run with nothing due never needs it

    if isinstance(exc, smtplib.SMTPResponseException):
        raw: bytes | str = exc.smtp_error
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if exc.smtp_code == -1:  # smtplib's code for a line that is not an SMTP reply
            return (f"the server's reply is not SMTP ({' '.join(text.split())[:80]!r}); check "
                    "smtp.host and smtp.port")
        return f"{exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        if code == -1:
            return _describe(smtplib.SMTPResponseException(code, reply))
        return f"{code} {' '.join(reply.decode('utf-8', 'replace').split())}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib wraps a read timeout in this, and says "please run connect() first" for a
        # connection the server already closed; neither wording helps the user.
        if "timed out" in str(exc):
            return "the mail server did not answer in time (smtp.timeout)"
        return "the mail server closed the connection"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return "the mail server did not answer in time (smtp.timeout)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def open_connection(config: Config, password: str | None) -> Any:
    """Connect and log in with yagmail; raise AuthFailure or Unreachable."""
    import smtplib
    import ssl

    import yagmail

    smtp = config.smtp
    user = config.smtp_user or ""
    # smtplib's own TLS context checks no certificate, so anyone between here and the server
    # could read the password; the default context verifies the chain and the host name.
    # Building it loads the system's CA certificates: not for a plain connection (security: none).
    context = ssl.create_default_context() if smtp.security != "none" else None
    tls: dict[str, Any] = {"context": context} if smtp.security == "ssl" else {}
    starttls: bool | dict[str, Any] = smtp.security == "starttls"
    if starttls and smtp.oauth2_file is None:  # yagmail's OAuth2 path takes only True
        starttls = {"context": context}
    try:
        with time_limit(smtp.timeout * 2, "connecting and logging in"):
            client = yagmail.SMTP(
                user=user,
                password=password,
                host=smtp.host,
                port=smtp.port,
                smtp_ssl=smtp.security == "ssl",
                smtp_starttls=starttls,
                smtp_skip_login=not smtp.login and smtp.oauth2_file is None,
                oauth2_file=smtp.oauth2_file,
                soft_email_validation=False,
                timeout=smtp.timeout,
                **tls,
            )
            client.login()
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthFailure(f"the mail server {smtp.host} refused the login for {user}: "
                          f"{_describe(exc)}; {PASSWORD_HINT}") from None
    except smtplib.SMTPNotSupportedError as exc:
        if "AUTH" in str(exc):
            raise Failure(f"the mail server {smtp.host}:{smtp.port} does not offer a login "
                          f"(SMTP AUTH) with smtp.security={smtp.security}; many servers offer "
                          "it only after STARTTLS or on the SSL port, so check smtp.security and "
                          "smtp.port, or set smtp.login: false for a relay that needs none"
                          ) from None
        raise Failure(f"the mail server {smtp.host}:{smtp.port} does not offer what "
                      f"smtp.security={smtp.security} needs ({exc}); check smtp.security and "
                      "smtp.port in the config") from None
    except ssl.SSLCertVerificationError as exc:
        raise Failure(f"the certificate of the mail server {smtp.host}:{smtp.port} could not be "
                      f"verified ({exc.verify_message}); nothing was sent and no password was "
                      "given to it; check that smtp.host is the name the server's certificate "
                      "carries") from None
    except ssl.SSLError as exc:
        # Not a passing fault: TLS spoken to a plain port (or the reverse) fails every time.
        raise Failure(f"TLS with the mail server {smtp.host}:{smtp.port} failed "
                      f"({exc.reason or exc}); check smtp.security (ssl for port 465, starttls "
                      "for 587) and smtp.port in the config") from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 535:
            raise AuthFailure(f"the mail server refused the login: {_describe(exc)}; "
                              f"{PASSWORD_HINT}") from None
        raise Unreachable(f"{smtp.host}:{smtp.port}: {_describe(exc)}") from None
    except (OSError, ValueError) as exc:
        raise Unreachable(f"{smtp.host}:{smtp.port}: {_describe(exc)}") from None
    return client


def _close(client: Any, seconds: float) -> None:
    try:
        with time_limit(seconds, "saying goodbye"):
            client.close()
    except Exception:  # noqa: BLE001 - the run is over; a rude or slow QUIT changes nothing
        pass


def build_eml(record: Record, config: Config, date: datetime) -> bytes:
    """Return the exact bytes of a request's message, dated `date`."""
    from draft_feedback.addresses import Address
    from draft_feedback.message import wire_bytes

    if config.sender is None:
        raise Failure(f"{config.source}: no sender configured; add sender: {{name: ..., "
                      "email: ...}} (see `draft-feedback config init`)")
    return wire_bytes(
        sender=config.sender.address,
        to=Address(record.to_name, record.to_addr),
        subject=record.subject,
        body=record.body,
        date=date,
        message_id=record.message_id or "",
        in_reply_to=record.in_reply_to,
        references=record.references,
    )


def send_due(outbox: Outbox, config: Config, *, clock: Callable[[], datetime],
             limit: int | None = None, dry_run: bool = False,
             password: Callable[[str], str] | None = None,
             stop: Callable[[], bool] = lambda: False) -> Report:
    """Send every queued request whose time has come, each exactly once."""
    now = clock()
    report = Report(dry_run=dry_run)
    report.interrupted_before = outbox.expire_claims(now)
    due, report.waiting_for_window = due_now(outbox, config, now, limit)
    if dry_run or not due:
        report.outcomes = [Outcome(r.id, "due", r.to) for r in due] if dry_run else []
        return report
    if config.sender is None:
        build_eml(due[0], config, now)  # raises the missing-sender error
    secret = None
    if config.smtp.login and config.smtp.oauth2_file is None:
        if password is None:
            from draft_feedback.credentials import get_password

            password = get_password
        secret = password(config.smtp_user or "")
    try:
        client = open_connection(config, secret)
    except Unreachable as exc:
        outbox.note_attempts([r.id for r in due], str(exc), now, backoff)
        for r in due:
            current = outbox.get(r.id)
            report.outcomes.append(Outcome(r.id, current.status, str(exc)))
        report.stopped = str(exc)
        return report
    try:
        for record in due:
            if stop():
                report.stopped = "stopped by a signal"
                break
            outcome = _send_one(outbox, config, client, record, clock)
            if outcome is None:
                continue
            report.outcomes.append(outcome)
            if outcome.status == "interrupted" or outcome.connection_lost:
                report.stopped = outcome.detail
                break
    finally:
        try:
            outbox.flush()  # the last send is recorded before the server hears QUIT
        finally:
            _close(client, config.smtp.timeout)
    for outcome in report.outcomes:
        if outcome.status == "sent" and outcome.id in outbox.lost_sent:
            outcome.detail = "sent, but the claim had expired meanwhile"
    return report


def _send_one(outbox: Outbox, config: Config, client: Any, record: Record,
              clock: Callable[[], datetime]) -> Outcome | None:
    import smtplib

    from draft_feedback.addresses import envelope

    now = clock()
    eml = build_eml(record, config, now)
    claim = outbox.claim(record.id, now, lease_for(config), eml, record=record)
    if claim is None:
        return None  # another run took it first
    assert config.sender is not None
    sender = envelope(config.sender.email)
    recipient = envelope(record.to_addr)
    options = [] if (sender + recipient).isascii() else ["SMTPUTF8"]
    conn = client.smtp
    phase = {"data": False}
    original_data = conn.data

    def tracked_data(msg: Any) -> Any:
        phase["data"] = True
        return original_data(msg)

    conn.data = tracked_data
    try:
        with time_limit(config.smtp.timeout * 2, "the SMTP transaction"):
            refused = conn.sendmail(sender, [recipient], eml, mail_options=options)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError) as exc:
        return _refused(outbox, claim, exc, clock)
    except (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPException) as exc:
        detail = _describe(exc)
        if phase["data"]:
            # RFC 1047: the server may have taken the message before the line dropped.
            outbox.mark_interrupted(
                claim, f"the connection broke after the message was handed over ({detail}); "
                       "check your Sent folder or the recipient before `retry`")
            return Outcome(record.id, "interrupted", detail)
        updated = outbox.mark_retry(claim, detail, now + backoff(claim.record.attempts))
        return Outcome(record.id, updated.status, detail, connection_lost=True)
    finally:
        conn.data = original_data
    if refused:
        updated = outbox.mark_failed(claim, "the server refused the recipient: " + "; ".join(
            f"{code} {text.decode('utf-8', 'replace')}" for code, text in refused.values()))
        return Outcome(record.id, updated.status, updated.last_error or "")
    if not outbox.mark_sent(claim, clock()):
        return Outcome(record.id, "sent", "sent, but the claim had expired meanwhile")
    return Outcome(record.id, "sent")


def _refused(outbox: Outbox, claim: Claim, exc: Exception,
             clock: Callable[[], datetime]) -> Outcome:
    import smtplib

    detail = _describe(exc)
    code = getattr(exc, "smtp_code", None)
    if code is None and isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = next(iter(exc.recipients.values()))[0]
    if code == 530:
        # RFC 3207 and 4954: TLS or a login must come first. That is the config's doing, not
        # this request's, so it is given back untouched and the run stops.
        outbox.release(claim)
        raise Failure(f"the mail server will not take mail without TLS or a login ({detail}); "
                      "check smtp.security (starttls or ssl) and smtp.login in the config; no "
                      "request was changed")
    if code is None or not 500 <= code < 600:
        # 4xx, and replies that are not SMTP at all, are passing faults: queued again.
        updated = outbox.mark_retry(claim, detail, clock() + backoff(claim.record.attempts))
        # After 421 (closing) or a garbled reply the connection is no use for the next one.
        closing = code is None or code == 421 or code < 400
        return Outcome(claim.record.id, updated.status, detail, connection_lost=closing)
    updated = outbox.mark_failed(claim, f"the server refused the message: {detail}")
    return Outcome(claim.record.id, updated.status, updated.last_error or detail)


def run_worker(outbox: Outbox, config: Config, *, clock: Callable[[], datetime],
               interval: float, on_report: Callable[[Report], None],
               on_error: Callable[[str], None]) -> int:
    """Run send_due every `interval` seconds until SIGINT/SIGTERM; finish the message in flight."""
    import signal
    import threading

    stopping = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        # Only set a flag: raising here could cut an SMTP transaction in half.
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed = False
    try:
        while not stopping.is_set():
            try:
                report = send_due(outbox, config, clock=clock, stop=stopping.is_set)
            except AuthFailure:
                raise
            except Failure as exc:
                # A passing fault (locked outbox, missing password) must not end the worker
                # silently; it is reported and tried again at the next tick.
                on_error(str(exc))
                failed = True
            else:
                if report.outcomes or report.interrupted_before or report.stopped:
                    on_report(report)
                failed = failed or report.failed
            stopping.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
