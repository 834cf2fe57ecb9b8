"""The yagmail connection and the one send loop. Only here is yagmail imported."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
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
    notes: list[str] = field(default_factory=list)  # what the mailbox check found or hit

    @property
    def failed(self) -> bool:
        """True if any request was not sent because of an error (a hold is not one)."""
        return any(o.status not in ("sent", "due", "held") for o in self.outcomes)


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

    yagmail = import_yagmail()
    smtp = config.smtp
    user = config.smtp_user or ""
    # smtplib's own TLS context checks no certificate, so anyone between here and the server
    # could read the password; the default context verifies the chain and the host name.
    # Building it loads the system's CA certificates: not for a plain connection (security: none).
    context = ssl.create_default_context() if smtp.security != "none" else None
    tls: dict[str, Any] = {"context": context} if smtp.security == "ssl" else {}
    starttls: bool | dict[str, Any] = smtp.security == "starttls"
    factory: Any = yagmail.SMTP
    if smtp.oauth2_file is not None:
        if smtp.security == "none" and not _loopback(smtp.host):
            raise Failure(f"smtp.oauth2_file with smtp.security: none would send the token to "
                          f"{smtp.host} unencrypted; set smtp.security to starttls or ssl")
        check_oauth2_file(smtp.oauth2_file)
        # yagmail's OAuth2 login calls starttls() with no context, which verifies nothing and
        # would hand the bearer token to anyone in between. The connection it opens is ours:
        # it has done STARTTLS with the verifying context before yagmail sees it.
        factory = _verified_oauth2_client(yagmail.SMTP, context, smtp.security)
        starttls = False
    elif starttls:
        starttls = {"context": context}
    try:
        with time_limit(smtp.timeout * 2, "connecting and logging in"):
            client = factory(
                user=user,
                password=password,
                host=smtp.host,
                port=smtp.port,
                smtp_ssl=smtp.security == "ssl",
                smtp_starttls=starttls,
                # The password login is ours (below): smtplib encodes it as ASCII only.
                smtp_skip_login=smtp.oauth2_file is None,
                oauth2_file=smtp.oauth2_file,
                soft_email_validation=False,
                timeout=smtp.timeout,
                **tls,
            )
            client.login()
            if smtp.login and smtp.oauth2_file is None:
                login_utf8(client.smtp, user, password or "")
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
        from urllib.error import HTTPError

        if isinstance(exc, HTTPError) and smtp.oauth2_file is not None:
            raise AuthFailure(f"Google refused the refresh token in {smtp.oauth2_file} "
                              f"(HTTP {exc.code}); create the file again (see "
                              "smtp.oauth2_file in the README)") from None
        raise Unreachable(f"{smtp.host}:{smtp.port}: {_describe(exc)}") from None
    return client


def import_yagmail() -> Any:
    """Import yagmail without what it loads for features that are never used here.

    - keyring: yagmail's password module imports it at import time, and keyring loads its
      backends and their dependencies. yagmail reads it only to ask for a password it was not
      given, which never happens here: the login is ours (login_utf8), with the password
      already known. So while yagmail is imported, keyring reads as absent, which yagmail
      expects and handles; credentials.py imports the real keyring whenever it needs it.
    - its asynchronous client (yagmail.async_core.aio), which brings all of asyncio: yagmail's
      package imports it only to offer AsyncSMTP, AIOSMTP and AsyncClient, which draft-feedback
      never calls. While yagmail is imported they are placeholders that say so if called.
    - urllib.request, which its OAuth2 module imports for one urlopen call when a token is
      refreshed: a stand-in urlopen imports the real one then.
    Together they were more than two thirds of yagmail's import time. After the import every
    stand-in leaves sys.modules, so any later import gets the real module. (importlib's
    LazyLoader does not help on Python 3.11: the import statement reads the module's __spec__,
    which loads it in full.)
    """
    import sys
    import types

    if "yagmail" in sys.modules:
        import yagmail

        return yagmail
    stand_ins: dict[str, types.ModuleType | None] = {}
    if "keyring" not in sys.modules:
        stand_ins["keyring"] = None
    if "yagmail.async_core.aio" not in sys.modules:
        aio = types.ModuleType("yagmail.async_core.aio")
        aio.AsyncSMTP = aio.AIOSMTP = aio.AsyncClient = _async_unused  # type: ignore[attr-defined]
        stand_ins["yagmail.async_core.aio"] = aio
    if "urllib.request" not in sys.modules:
        request = types.ModuleType("urllib.request")
        request.urlopen = _urlopen  # type: ignore[attr-defined]
        stand_ins["urllib.request"] = request
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        import yagmail
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name, False) is stand_in:
                del sys.modules[name]
    return yagmail


def _async_unused(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("yagmail's asynchronous client is not loaded by draft-feedback")


def _urlopen(*args: Any, **kwargs: Any) -> Any:
    """urllib.request.urlopen, imported on the first call (an OAuth2 token refresh)."""
    from urllib.request import urlopen

    return urlopen(*args, **kwargs)


def login_utf8(conn: Any, user: str, password: str) -> None:
    """Log in with the user name and password as UTF-8, which is what servers expect.

    smtplib encodes both as ASCII and fails on "Zürich-Pässwört-42" with an error that quotes
    the character and its position. PLAIN (RFC 4616) is UTF-8 by definition; LOGIN and
    CRAM-MD5 take the same bytes in practice.
    """
    import base64
    import hmac
    import smtplib

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    conn.ehlo_or_helo_if_needed()
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = conn.esmtp_features["auth"].upper().split()
    name, secret = user.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in offered:
        code, reply = conn.docmd("AUTH", "PLAIN " + b64(b"\0" + name + b"\0" + secret))
    elif "LOGIN" in offered:
        code, reply = conn.docmd("AUTH", "LOGIN " + b64(name))
        if code == 334:
            code, reply = conn.docmd(b64(secret))
    elif "CRAM-MD5" in offered:
        code, reply = conn.docmd("AUTH", "CRAM-MD5")
        if code == 334:
            challenge = base64.b64decode(reply)
            digest = hmac.new(secret, challenge, "md5").hexdigest()
            code, reply = conn.docmd(b64(name + b" " + digest.encode("ascii")))
    else:
        raise smtplib.SMTPException("No suitable authentication method found.")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, _without(reply, password))


def _without(reply: bytes, password: str) -> bytes:
    """A server reply with any echo of the password taken out."""
    import base64

    secret = password.encode("utf-8")
    for echo in (secret, base64.b64encode(secret)):
        if len(echo) >= 3:
            reply = reply.replace(echo, b"[password]")
    return reply


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in ("localhost", "localhost.")


OAUTH2_KEYS = ("google_client_id", "google_client_secret", "google_refresh_token")


def check_oauth2_file(path: str) -> None:
    """Refuse an OAuth2 file yagmail would complete by asking questions on the terminal."""
    import json

    fix = ("create it once on a terminal with yagmail's setup: python -c \"import yagmail; "
           f"yagmail.SMTP('you@gmail.com', oauth2_file='{path}')\"")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Failure(f"{path}: smtp.oauth2_file does not exist; {fix}") from None
    except (OSError, ValueError) as exc:
        raise Failure(f"{path}: smtp.oauth2_file cannot be read "
                      f"({getattr(exc, 'strerror', None) or 'not JSON'}); {fix}") from None
    if not isinstance(data, dict) or "installed" in data or any(
            not isinstance(data.get(k), str) or not data[k] for k in OAUTH2_KEYS):
        raise Failure(f"{path}: smtp.oauth2_file is not a finished OAuth2 file (it needs "
                      f"{', '.join(OAUTH2_KEYS)}); {fix}")


def _verified_oauth2_client(base: Any, context: Any, security: str) -> Any:
    """yagmail's client, opening a connection that verified the server before any token."""
    import smtplib

    class Checked:
        def docmd(self, cmd: str, args: str = "") -> tuple[int, bytes]:
            code, reply = super().docmd(cmd, args)  # type: ignore[misc]
            # yagmail sends AUTH XOAUTH2 with docmd, which raises nothing on a refusal.
            if cmd.upper() == "AUTH" and code != 235:
                raise smtplib.SMTPAuthenticationError(code, reply)
            return code, reply

    class StartTLS(Checked, smtplib.SMTP):
        def __init__(self, host: str, port: Any, **kwargs: Any) -> None:
            super().__init__(host, int(port), **kwargs)
            self.ehlo()
            self.starttls(context=context)

    class ImplicitTLS(Checked, smtplib.SMTP_SSL):
        pass

    class Plain(Checked, smtplib.SMTP):
        pass

    chosen = {"starttls": StartTLS, "ssl": ImplicitTLS}.get(security, Plain)

    class Client(base):
        @property
        def connection(self) -> Any:
            return chosen

    return Client


def _close(client: Any, seconds: float) -> None:
    try:
        with time_limit(seconds, "saying goodbye"):
            client.close()
    except Exception:  # noqa: BLE001 - the run is over; a rude or slow QUIT changes nothing
        # The deadline can land between smtplib's steps, before it closed its socket.
        connection = getattr(client, "smtp", None)
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110
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
             stop: Callable[[], bool] = lambda: False,
             before_claim: Callable[[Record], Outcome | None] | None = None) -> Report:
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
            # The reply check runs just before the claim, so a late reply still stops it.
            outcome = before_claim(record) if before_claim is not None else None
            if outcome is None:
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
    claim = outbox.claim(record.id, now, lease_for(config),
                         lambda current: build_eml(current, config, now))
    if claim is None:
        return None  # another run took it first, or it changed since the run began
    if claim.record.status == "failed":
        return Outcome(record.id, "failed", claim.record.last_error or "")
    record = claim.record
    eml = claim.record.eml or b""
    assert config.sender is not None
    sender = envelope(config.sender.email)
    recipient = envelope(record.to_addr)
    options = [] if (sender + recipient).isascii() else ["SMTPUTF8"]
    conn = client.smtp
    # "sent" turns true once the bytes of the message start to go out after the 354: from then
    # on the server may hold the whole message, and only a clean reply says what became of it.
    phase = {"data": False, "sent": False}
    original_data, original_send = conn.data, conn.send

    def tracked_data(msg: Any) -> Any:
        phase["data"] = True
        return original_data(msg)

    def tracked_send(chunk: Any) -> Any:
        if phase["data"] and isinstance(chunk, bytes):  # the DATA command itself is text
            phase["sent"] = True
        return original_send(chunk)

    conn.data, conn.send = tracked_data, tracked_send
    try:
        with time_limit(config.smtp.timeout * 2, "the SMTP transaction"):
            refused = conn.sendmail(sender, [recipient], eml, mail_options=options)
    except (smtplib.SMTPException, OSError) as exc:
        if phase["sent"]:
            return _after_data(outbox, claim, exc, clock)
        if isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                            smtplib.SMTPDataError)):
            return _refused(outbox, claim, exc, clock)
        detail = _describe(exc)
        updated = outbox.mark_retry(claim, detail, now + backoff(claim.record.attempts))
        return Outcome(record.id, updated.status, detail, connection_lost=True)
    finally:
        conn.data, conn.send = original_data, original_send
    if refused:
        updated = outbox.mark_failed(claim, "the server refused the recipient: " + "; ".join(
            f"{code} {text.decode('utf-8', 'replace')}" for code, text in refused.values()))
        return Outcome(record.id, updated.status, updated.last_error or "")
    if not outbox.mark_sent(claim, clock()):
        return Outcome(record.id, "sent", "sent, but the claim had expired meanwhile")
    return Outcome(record.id, "sent")


def _after_data(outbox: Outbox, claim: Claim, exc: Exception,
                clock: Callable[[], datetime]) -> Outcome:
    """The message went out; only a clean 2xx, 4xx or 5xx reply to it says what became of it."""
    import smtplib

    code = exc.smtp_code if isinstance(exc, smtplib.SMTPDataError) else None
    if code is not None and 200 <= code < 300:
        # smtplib wants 250 exactly; any 2xx is the server saying it took the message.
        if not outbox.mark_sent(claim, clock()):
            return Outcome(claim.record.id, "sent", "sent, but the claim had expired meanwhile")
        return Outcome(claim.record.id, "sent")
    if code is not None and 400 <= code < 600:
        return _refused(outbox, claim, exc, clock)
    # Garbage, a dropped line, a timeout, an over-long or 1xx/3xx reply: RFC 1047, the server
    # may have taken the message. Never sent again on its own.
    detail = _describe(exc)
    outbox.mark_interrupted(
        claim, f"no clean answer after the message was handed over ({detail}); it may have "
               "arrived: check your Sent folder or the recipient before `retry`")
    return Outcome(claim.record.id, "interrupted", detail)


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


def oauth2_token(oauth2_file: str, user: str) -> str:
    """Return a fresh OAuth2 access token from yagmail's credentials file (for IMAP XOAUTH2)."""
    import json

    import_yagmail()
    from yagmail.oauth2 import refresh_authorization

    try:
        with open(oauth2_file, encoding="utf-8") as handle:
            info = json.load(handle)
        token, _ = refresh_authorization(info["google_client_id"], info["google_client_secret"],
                                         info["google_refresh_token"])
    except (OSError, ValueError, KeyError) as exc:
        raise Failure(f"{oauth2_file}: no OAuth2 access token for {user} ({exc}); run yagmail's "
                      "OAuth2 set-up again, or use a password") from None
    return str(token)


def run_worker(outbox: Outbox, config: Config, *, clock: Callable[[], datetime],
               interval: float, on_report: Callable[[Report], None],
               on_error: Callable[[str], None],
               run: Callable[..., Report] | None = None) -> int:
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
                report = (run or send_due)(outbox, config, clock=clock, stop=stopping.is_set)
            except AuthFailure:
                raise
            except Failure as exc:
                # A passing fault (locked outbox, missing password) must not end the worker
                # silently; it is reported and tried again at the next tick.
                on_error(str(exc))
                failed = True
            else:
                if (report.outcomes or report.interrupted_before or report.stopped
                        or report.notes):
                    on_report(report)
                failed = failed or report.failed
            stopping.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
