"""Building the outgoing message: headers encoded and folded by hand, body, wire bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from draft_feedback.addresses import (
    MAX_LINE_OCTETS,
    MAX_MSG_ID_CHARS,
    MSG_ID,
    SPECIALS,
    Address,
    addr_spec,
    ascii_domain,
    cap_subject,
    check_addr,
    check_header_value,
    check_name,
    quoted,
)
from draft_feedback.errors import BadInput
from draft_feedback.patterns import compile_kept

if TYPE_CHECKING:  # the email package is imported lazily at run time to keep start-up fast
    from email.message import EmailMessage
    from email.policy import Policy


def make_message_id(domain: str) -> str:
    """Return a new, unique Message-ID on the (punycode) domain, angle brackets included.

    Made as email.utils.make_msgid makes it (time, process, 64 random bits), without importing
    the email package, which drafting a request does not otherwise need.
    """
    import os
    import time

    option = "Message-ID domain"
    domain = check_header_value(domain, option)
    if not domain:
        raise BadInput(f"{option}: the domain is empty; set the sender's address")
    # A domain is valid here exactly when an address on it would be.
    valid, reason = check_addr(f"postmaster@{domain}")
    if valid is None:
        raise BadInput(f"{option}: '{domain}' is not a valid domain ({reason})")
    stamp = int(time.time() * 100)
    return (f"<{stamp}.{os.getpid()}.{int.from_bytes(os.urandom(8), 'big')}"
            f"@{ascii_domain(domain, option)}>")


_EW_LITERAL = compile_kept(r"[A-Za-z0-9!*+\-/]")
_FOLD_AT = 78  # RFC 5322 2.1.1 "SHOULD"


def _q_encode(ch: str) -> str:
    """Q-encode one character for an encoded word."""
    if ch == " ":
        return "_"
    if _EW_LITERAL.fullmatch(ch):
        return ch
    return "".join(f"={byte:02X}" for byte in ch.encode("utf-8"))


def _encoded_words(text: str, limit: int) -> list[str]:
    """Encode text as UTF-8 encoded words of at most limit characters, split between characters.

    Every character, spaces included, goes inside a word: readers drop the whitespace between
    adjacent encoded words, so a space left between two of them would be lost.
    """
    q_words: list[str] = []
    current = ""
    for ch in text:
        piece = _q_encode(ch)
        if current and len("=?utf-8?q?" + current + piece + "?=") > limit:
            q_words.append(f"=?utf-8?q?{current}?=")
            current = ""
        current += piece
    q_words.append(f"=?utf-8?q?{current}?=")

    b_words: list[str] = []
    chunk = b""
    for ch in text:
        data = ch.encode("utf-8")
        if chunk and len("=?utf-8?b?") + 4 * -(-(len(chunk) + len(data)) // 3) + 2 > limit:
            b_words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk = b""
        chunk += data
    b_words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")

    # Q keeps Latin text legible in the raw message; B is shorter for other scripts. Fewer words
    # win first: Python 3.11's own reader shows a stray space between two words of a name.
    return q_words if len(q_words) <= len(b_words) else b_words


def _header_words(text: str, header: str, *, phrase: bool) -> list[str]:
    """Split a header value into unbreakable tokens: ASCII words, or encoded words."""
    if not text:
        return []
    room = _FOLD_AT - len(header) - 2
    if text.isascii():
        plain = quoted(text) if phrase and SPECIALS.search(text) else text
        words = plain.split(" ")
        if all(len(word) <= room for word in words):
            return words
    return _encoded_words(text, min(75, room))


def _folded(header: str, tokens: list[str]) -> str:
    """Join tokens with single spaces, breaking lines before a space where they would be long.

    The space is kept at the start of the continuation line, so unfolding restores the text.
    """
    lines: list[str] = []
    line = ""
    used = len(header) + 2
    for token in tokens:
        if line and used + len(line) + 1 + len(token) > _FOLD_AT:
            lines.append(line)
            line, used = "", 0
        line = f"{line} {token}" if line or used == 0 else token
    lines.append(line)
    return "\r\n".join(lines)


def _address_header(address: Address, header: str) -> str:
    """Write a From/To value by hand: display name encoded and folded, domain in punycode."""
    name = check_name(address.name, f"{header} name")
    spec = addr_spec(address, header)
    if not name:
        return spec
    return _folded(header, [*_header_words(name, header, phrase=True), f"<{spec}>"])


def _msg_ids(value: str, header: str) -> str:
    """Check a space-separated list of <message-ids> and return it normalised."""
    value = check_header_value(value, header)
    ids = value.split()
    if not ids or any(MSG_ID.fullmatch(i) is None for i in ids):
        raise BadInput(f"{header}: '{value}' is not a list of <message-id> values")
    if any(len(i) > MAX_MSG_ID_CHARS for i in ids):
        raise BadInput(f"{header}: a message id is over {MAX_MSG_ID_CHARS} characters long")
    return " ".join(ids)


_PLAIN_LINE = compile_kept(r"[\t\x20-\x7e]{0,78}")


def build_message(
    *,
    sender: Address,
    to: Address,
    subject: str,
    body: str,
    date: datetime,
    message_id: str,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> EmailMessage:
    """Build the plain-text UTF-8 message that is sent, every header value checked again."""
    return _email_message(_checked_parts(sender, to, subject, body, date, message_id,
                                         in_reply_to, references))[0]


def wire_bytes(
    *,
    sender: Address,
    to: Address,
    subject: str,
    body: str,
    date: datetime,
    message_id: str,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> bytes:
    """Return the bytes of build_message's message on the wire, serialised once.

    The ordinary message (a 7bit or quoted-printable body, short unfolded headers) is written
    directly; any other goes through the email package. tests/test_message_bytes.py holds the
    two to the same bytes.
    """
    parts = _checked_parts(sender, to, subject, body, date, message_id, in_reply_to,
                           references)
    data = _direct_bytes(parts)
    if data is None:
        return _email_message(parts)[1]
    _check_line_length(data)
    return data


@dataclass(frozen=True)
class _Parts:
    """The checked, encoded and folded pieces of a message, before it is assembled."""

    raw: tuple[tuple[str, str], ...]  # From, To, Subject: written exactly as folded here
    parsed: tuple[tuple[str, str], ...]  # Date, Message-ID, ...: values the email package folds
    text: str
    plain: bool  # 7bit: ASCII lines of at most 78 characters


def _checked_parts(sender: Address, to: Address, subject: str, body: str, date: datetime,
                   message_id: str, in_reply_to: str | None,
                   references: str | None) -> _Parts:
    from email.utils import format_datetime

    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("build_message needs a timezone-aware date")
    # From, To and Subject are encoded and folded here, not by the email package: Python 3.11
    # sometimes leaves a space between two encoded words when it folds, and readers drop it
    # ("Flüsse« – Bitte" arrives as "Flüsse«– Bitte"). set_raw stores them exactly as written.
    capped = cap_subject(check_header_value(subject, "Subject"))
    raw = (("From", _address_header(sender, "From")), ("To", _address_header(to, "To")),
           ("Subject", _folded("Subject", _header_words(capped, "Subject", phrase=False))))
    parsed = [("Date", format_datetime(date)), ("Message-ID", _msg_ids(message_id, "Message-ID"))]
    if in_reply_to:
        parsed.append(("In-Reply-To", _msg_ids(in_reply_to, "In-Reply-To")))
    if references:
        parsed.append(("References", _msg_ids(references, "References")))
    parsed.append(("MIME-Version", "1.0"))
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    # Plain ASCII with short lines stays 7bit so it reads as written; anything else is
    # quoted-printable: 7-bit safe for any relay, lines capped at 76, still mostly legible.
    plain = all(_PLAIN_LINE.fullmatch(line) for line in text.split("\n"))
    return _Parts(raw, tuple(parsed), text, plain)


def _email_message(parts: _Parts) -> tuple[EmailMessage, bytes]:
    """Assemble the message with the email package; return it and its wire bytes."""
    from email.message import EmailMessage
    from email.policy import SMTP

    # Set the body under a 76-column policy: Python encodes quoted-printable to the policy's
    # max_line_length, and RFC 2045 allows 76, not SMTP's 78. Headers fold at 78 on output.
    msg = EmailMessage(policy=SMTP.clone(max_line_length=76))
    for name, value in parts.raw:
        msg.set_raw(name, value)
    for name, value in parts.parsed:
        msg[name] = value
    msg.set_content(parts.text, subtype="plain", charset="utf-8",
                    cte="7bit" if parts.plain else "quoted-printable")
    msg.policy = _wire_policy()
    data = message_bytes(msg)
    _check_line_length(data)
    return msg, data


# A header value the email package writes back unchanged: a few plain ASCII tokens.
_TOKEN = r"[A-Za-z0-9<>@.,:+_=!#$%&'*/?^`{|}~-]+"
_SIMPLE_VALUE = compile_kept(rf"{_TOKEN}(?: {_TOKEN})*")


def _direct_bytes(parts: _Parts) -> bytes | None:
    """Write the ordinary message as the email package would; None for any other.

    The body is 7bit or quoted-printable exactly as set_content makes it (the same encoder,
    email.quoprimime, without the header registry and the generator around it).
    """
    lines = [f"{name}: {value}" for name, value in parts.raw]
    for name, value in parts.parsed:
        line = f"{name}: {value}"
        if len(line) > _FOLD_AT or not _SIMPLE_VALUE.fullmatch(value) or (
                name == "Message-ID" and " " in value):  # the email package keeps one id
            return None
        lines.append(line)
    try:
        if parts.plain:
            # As set_content writes a 7bit body: its lines, each ended, or one line end if none.
            cte, body = "7bit", "\r\n".join(parts.text.splitlines()) + "\r\n"
        else:
            from email.quoprimime import body_encode

            # set_content's own steps: UTF-8, split into lines, each ended with a newline,
            # encoded at 76 columns; the generator then ends each line with CRLF.
            raw = b"\n".join(parts.text.encode("utf-8").splitlines()) + b"\n"
            cte, body = "quoted-printable", body_encode(raw.decode("latin-1"), 76)
            body = body.replace("\n", "\r\n")
        lines += ['Content-Type: text/plain; charset="utf-8"',
                  f"Content-Transfer-Encoding: {cte}"]
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("ascii")
    except UnicodeError:
        return None


def _check_line_length(data: bytes) -> None:
    # The email package cannot fold one very long word in an address header; never hand on a
    # message that a server would reject for a line over RFC 5322's 998 octets.
    longest = max(len(line) for line in data.split(b"\r\n"))
    if longest > MAX_LINE_OCTETS:
        raise BadInput(
            f"the message has a line of {longest} octets (the limit is {MAX_LINE_OCTETS}); "
            "shorten the names, subject or references"
        )


def _wire_policy() -> Policy:
    """Return email.policy.SMTP, told to keep the headers build_message folded itself."""
    from email.policy import SMTP

    # With the default refold_source="long", a hand-folded header with one line over 78
    # (a long address) would be refolded by the very code whose folding is avoided above.
    return SMTP.clone(refold_source="none")


def message_bytes(msg: EmailMessage) -> bytes:
    """Serialise a message exactly as it goes on the wire (CRLF, folded); deterministic."""
    return msg.as_bytes(policy=_wire_policy())
