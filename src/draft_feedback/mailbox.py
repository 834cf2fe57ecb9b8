"""The IMAP connection, read-only: finding replies to our requests. Only here is imapclient used."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from draft_feedback.config import Config, Imap, is_loopback
from draft_feedback.errors import Failure

IMAP_PASSWORD_HINT = ("run `draft-feedback login --imap`, or set DRAFT_FEEDBACK_IMAP_PASSWORD "
                      "(the SMTP password is used when the IMAP user is the same)")
# Ids per SEARCH: a few dozen OR'ed header tests keep one command well under servers' limits.
_IDS_PER_SEARCH = 16
_FETCH_CHUNK = 200


class MailboxError(Failure):
    """The mailbox could not be read: no request was changed."""


@dataclass(frozen=True)
class Headers:
    """One message as first fetched: its UID, when the server got it, and its header block."""

    uid: int
    received: datetime
    header: bytes


class Mailbox:
    """An open, read-only IMAP mailbox (EXAMINE): nothing is flagged, moved or deleted."""

    def __init__(self, client: Any, imap: Imap) -> None:
        self._client = client
        self._imap = imap

    def thread_uids(self, message_ids: Iterable[str]) -> set[int]:
        """Return the UIDs of messages whose In-Reply-To or References names one of the ids."""
        ids = sorted({i for i in message_ids if _searchable(i)})
        found: set[int] = set()
        for start in range(0, len(ids), _IDS_PER_SEARCH):
            terms: list[Any] = []
            for message_id in ids[start:start + _IDS_PER_SEARCH]:
                terms.append(["OR", "HEADER", "In-Reply-To", message_id,
                              "HEADER", "References", message_id])
            found |= self._search(_or_all(terms))
        return found

    def from_uids(self, senders: Iterable[str], since: date) -> set[int]:
        """Return the UIDs of messages from any of the senders (addresses or @domains) since."""
        wanted = sorted({s for s in senders if _searchable(s)})
        found: set[int] = set()
        for start in range(0, len(wanted), _IDS_PER_SEARCH):
            terms: list[Any] = [["FROM", s] for s in wanted[start:start + _IDS_PER_SEARCH]]
            found |= self._search(["SINCE", since, *_or_all(terms)])
        return found

    def headers(self, uids: Iterable[int]) -> list[Headers]:
        """Fetch the header blocks (never the bodies) of messages, without marking them read."""
        out: list[Headers] = []
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), _FETCH_CHUNK):
            chunk = ordered[start:start + _FETCH_CHUNK]
            data = self._call("fetching headers", self._client.fetch, chunk,
                              ["BODY.PEEK[HEADER]", "INTERNALDATE"])
            for uid, item in data.items():
                header = item.get(b"BODY[HEADER]") or b""
                out.append(Headers(int(uid), _aware(item.get(b"INTERNALDATE")), bytes(header)))
        return sorted(out, key=lambda h: h.uid)

    def message(self, uid: int) -> bytes:
        """Fetch one whole message, without marking it read (BODY.PEEK)."""
        data = self._call("fetching a message", self._client.fetch, [uid], ["BODY.PEEK[]"])
        item = data.get(uid) or {}
        return bytes(item.get(b"BODY[]") or b"")

    def _search(self, criteria: list[Any]) -> set[int]:
        return {int(u) for u in self._call("searching", self._client.search, criteria)}

    def _call(self, what: str, method: Any, *args: Any) -> Any:
        from imapclient.exceptions import IMAPClientError

        try:
            with time_limit(self._imap):
                return method(*args)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"the IMAP server {_where(self._imap)} failed while {what} "
                               f"({_describe(exc)}); no request was changed") from None


def _or_all(terms: list[Any]) -> list[Any]:
    """Fold search terms into IMAP's binary OR: [a, b, c] -> OR a OR b c."""
    if len(terms) == 1:
        return list(terms[0])
    return ["OR", terms[0], _or_all(terms[1:])]


def _searchable(text: str) -> bool:
    # Ids and addresses go into the SEARCH command as quoted strings; anything that could end
    # the quote or the line has no business there.
    # Non-ASCII would need the server to take UTF-8 searches; callers pass punycode domains.
    return (bool(text) and text.isascii() and text.isprintable() and '"' not in text
            and "\\" not in text)


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime):
        return datetime.now(UTC)
    if value.tzinfo is None:  # imapclient gives local time when asked to normalise
        return value.astimezone(UTC)
    return value


def _where(imap: Imap) -> str:
    return f"{imap.host}:{imap.port}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "no answer in time (imap.timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())[:200] or type(exc).__name__


def tls_context() -> Any:
    """The context for IMAP over TLS: the system's CAs, chain and host name verified, as SMTP."""
    import ssl

    return ssl.create_default_context()


@contextmanager
def open_mailbox(config: Config, password: str | None,
                 oauth2_token: str | None = None) -> Iterator[Mailbox]:
    """Connect, log in and EXAMINE the configured mailbox; raise MailboxError on any fault."""
    import ssl

    from imapclient.exceptions import IMAPClientError, LoginError

    imap = config.imap
    if imap is None:
        raise MailboxError(f"{config.source}: no imap section; add imap: {{host: ...}} to read "
                           "replies (see config.example.yaml)")
    user = config.imap_user or ""
    if imap.security == "none" and not is_loopback(imap.host):
        # Checked when the config is read too; a password never crosses a network in clear.
        raise MailboxError(f"{config.source}: imap.security none is only for a server on this "
                           "machine; use ssl or starttls")
    where = _where(imap)
    client: Any = None
    try:
        with time_limit(imap):
            client = _log_in(imap, user, password, oauth2_token)
    except MailboxError:
        _logout(client)
        raise
    except LoginError as exc:
        _logout(client)
        raise MailboxError(f"the IMAP server {where} refused the login for {user} "
                           f"({_describe(exc)}); {IMAP_PASSWORD_HINT}; no request was changed"
                           ) from None
    except ssl.SSLCertVerificationError as exc:
        _logout(client)
        raise MailboxError(f"the certificate of the IMAP server {where} could not be verified "
                           f"({exc.verify_message}); no password was sent; check that imap.host "
                           "is the name the server's certificate carries") from None
    except ssl.SSLError as exc:
        _logout(client)
        raise MailboxError(f"TLS with the IMAP server {where} failed ({exc.reason or exc}); "
                           "check imap.security (ssl for port 993, starttls for 143) and "
                           "imap.port") from None
    except (IMAPClientError, OSError) as exc:
        _logout(client)
        raise MailboxError(f"the IMAP server {where} could not be reached ({_describe(exc)}); "
                           "check imap.host and imap.port; no request was changed") from None
    try:
        try:
            # EXAMINE: the server itself refuses any change to flags or messages.
            with time_limit(imap):
                client.select_folder(imap.mailbox, readonly=True)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"the IMAP server {where} has no mailbox {imap.mailbox!r} "
                               f"({_describe(exc)}); check imap.mailbox (usually INBOX); no "
                               "request was changed") from None
        yield Mailbox(client, imap)
    finally:
        _logout(client)


def _log_in(imap: Imap, user: str, password: str | None, oauth2_token: str | None) -> Any:
    """Connect and log in; the caller turns each fault into a MailboxError."""
    from imapclient import IMAPClient

    client = IMAPClient(imap.host, port=imap.port, ssl=imap.security == "ssl",
                        ssl_context=tls_context() if imap.security == "ssl" else None,
                        timeout=imap.timeout)
    try:
        if imap.security == "starttls":
            if b"STARTTLS" not in client.capabilities():
                raise MailboxError(f"the IMAP server {_where(imap)} does not offer STARTTLS; "
                                   "no password was sent; use imap.security ssl (port 993)")
            client.starttls(tls_context())
        if oauth2_token is not None:
            client.oauth2_login(user, oauth2_token)
        elif (password or "").isascii() and user.isascii():
            client.login(user, password or "")
        else:
            # LOGIN cannot carry UTF-8 (imaplib refuses it); SASL PLAIN does (RFC 4616).
            client.plain_login(user, password or "")
    except BaseException:
        _logout(client)
        raise
    return client


def time_limit(imap: Imap) -> AbstractContextManager[None]:
    """End one IMAP step (connecting and logging in, or one command) after 2 x imap.timeout.

    imap.timeout bounds each read, so a server that trickles a byte at a time would otherwise
    hold a run for as long as it likes.
    """
    from draft_feedback.deadline import deadline

    seconds = imap.timeout * 2
    return deadline(seconds, lambda: TimeoutError(f"timed out after {seconds:g} s"))


def _logout(client: Any) -> None:
    if client is None:
        return
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the work is done or failed already; a rude close changes nothing
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass


def imap_password(config: Config) -> str:
    """Return the IMAP password: its own variable or keyring entry, else the SMTP one."""
    from draft_feedback.credentials import get_imap_password

    return get_imap_password(config.imap_user or "", same_as_smtp=(
        config.imap_user == config.smtp_user))

