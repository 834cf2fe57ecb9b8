"""Reading replies that came back: thread ids, automated answers, bounces, quoted history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from draft_feedback.errors import BadInput

if TYPE_CHECKING:
    from email.message import EmailMessage

    from draft_feedback.message import Address

_MSG_ID = re.compile(r"<[^<>\s\"\\]{1,250}>")
_MAX_IDS = 50  # a References header longer than this is someone's joke; keep its ends
_MAX_HEADER_CHARS = 4000
_MAX_RAW_CHARS = 1_000_000  # a thread id list this long is an attack; the ends are kept below

REPLY, AUTO_REPLY, BOUNCE, FORWARD = "reply", "auto-reply", "bounce", "forward"

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|"
    r"autoreply|abwesenheit|abwesend|away from (?:the office|my desk)|on (?:vacation|holiday|leave)"
    r"|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|automatisch antwoord)",
    re.I)
_BOUNCE_SUBJECT = re.compile(
    r"(?:undeliver(?:able|ed)|delivery (?:status notification|has failed|failure)|"
    r"returned mail|mail delivery (?:failed|subsystem)|failure notice|"
    r"non[- ]?delivery|unzustellbar)", re.I)
_BOUNCE_LOCALS = ("mailer-daemon", "postmaster", "mail-daemon")
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|tr|enc|rv)\s*:", re.I)
_FORWARD_MARKER = re.compile(
    r"^(?:-{3,}\s*forwarded message\s*-{3,}|begin forwarded message:|"
    r"-{3,}\s*weitergeleitete nachricht\s*-{3,}|-{3,}\s*message transféré\s*-{3,})", re.I | re.M)

# Where quoted history starts: the first of these lines, and everything after it, is theirs-before.
_HISTORY_STARTS = (
    re.compile(r"^on\b.{0,200}\bwrote\s*:\s*$", re.I),
    re.compile(r"^am\b.{0,200}\bschrieb\b.{0,200}:\s*$", re.I),
    re.compile(r"^le\b.{0,200}\ba écrit\s*:\s*$", re.I),
    re.compile(r"^el\b.{0,200}\bescribió\s*:\s*$", re.I),
    re.compile(r"^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine)"
               r"\s*-{2,}\s*$", re.I),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^-{3,}\s*forwarded message\s*-{3,}\s*$", re.I),
    re.compile(r"^begin forwarded message:\s*$", re.I),
)
_HEADER_BLOCK = re.compile(r"^\*?(?:from|von|de)\s*:\*?\s", re.I)
_HEADER_NEXT = re.compile(r"^\*?(?:sent|date|gesendet|envoyé|to|an|à|subject|betreff|objet)\s*:",
                          re.I)
_SIGN_OFFS = re.compile(r"^(?:sent from my \w+|get outlook for \w+)", re.I)

_FORM_PHRASES = re.compile(
    r"(?:(?:unable|not able|not in a position) to (?:provide|offer|give|share) "
    r"(?:any |individual |specific |personal |personalised |personalized |detailed )*feedback"
    r"|(?:do|does|can) not (?:provide|offer|give) (?:any |individual |specific |personal )*"
    r"feedback|cannot (?:provide|offer|give) (?:any |individual |specific |personal )*feedback"
    r"|(?:policy|practice) (?:is )?not to (?:provide|offer|give) feedback"
    r"|due to the (?:high |large |sheer )?(?:volume|number) of (?:applications|applicants|"
    r"candidates|submissions))", re.I)


@dataclass(frozen=True)
class Incoming:
    """One message in the mailbox, as far as its headers tell."""

    uid: int
    sender: Address | None
    subject: str
    date: datetime
    message_id: str | None
    thread_ids: tuple[str, ...]  # In-Reply-To then References, each id once
    kind: str  # reply, auto-reply, bounce or forward; a bounce may be confirmed by its body
    detail: str = ""  # why it is automated, or the bounce's diagnostic

    @property
    def who(self) -> str:
        """Return the sender as shown to the user."""
        return self.sender.formatted() if self.sender else "an unknown sender"


def _header_text(msg: EmailMessage, name: str) -> str:
    """A header's decoded text, or "" where it is missing or cannot be read safely."""
    try:
        value = msg.get(name)
    except Exception:  # the 3.11 parser raises assorted errors on hostile headers
        return ""
    if value is None:
        return ""
    text = " ".join(str(value).split())[:_MAX_HEADER_CHARS]
    # Control characters (or ones an encoded word decoded to) never reach the outbox or a screen.
    return "".join(c for c in text if c.isprintable())


def _raw(msg: EmailMessage, name: str) -> str:
    values = []
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            values.append(str(value))
    return " ".join(values)[:_MAX_RAW_CHARS]


def _ids(text: str) -> list[str]:
    found = list(dict.fromkeys(_MSG_ID.findall(text)))
    if len(found) > _MAX_IDS:
        found = found[:1] + found[-(_MAX_IDS - 1):]
    return found


def _sender(msg: EmailMessage) -> Address | None:
    from email.utils import parseaddr

    from draft_feedback.message import Address, check_header_value, parse_address

    try:
        mailbox = msg["From"].addresses[0]
        name, addr = str(mailbox.display_name or ""), str(mailbox.addr_spec or "")
    except Exception:  # missing, or a From the parser refuses: read the raw text loosely
        name, addr = parseaddr(_raw(msg, "From")[:_MAX_HEADER_CHARS])
    if not addr:
        return None
    try:
        checked = parse_address(addr, "From")
    except BadInput:
        return None
    try:
        # A name that hides a line break (even in an encoded word) is dropped, not shown.
        clean = check_header_value(" ".join(name.split())[:200], "From")
    except BadInput:
        clean = ""
    if not name.isprintable():
        clean = ""
    return Address(clean, checked.email)


def _date(msg: EmailMessage, received: datetime) -> datetime:
    from email.utils import parsedate_to_datetime

    text = _header_text(msg, "Date")
    try:
        when = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is None:
        return received
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # A Date far from when the server got the message is a wrong clock or a lie: trust the server.
    if abs((when - received).total_seconds()) > 7 * 86400:
        return received
    return when


def parse_headers(uid: int, header: bytes, received: datetime) -> Incoming:
    """Read a message's header block: who, when, its thread ids and what kind of mail it is."""
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.default).parsebytes(header, headersonly=True)
    subject = _header_text(msg, "Subject")
    sender = _sender(msg)
    own = _ids(_raw(msg, "Message-ID"))
    thread = _ids(_raw(msg, "In-Reply-To") + " " + _raw(msg, "References"))
    kind, detail = REPLY, ""
    local = sender.email.rpartition("@")[0].lower() if sender else ""
    content_type = _raw(msg, "Content-Type").lower()
    auto_submitted = _header_text(msg, "Auto-Submitted").lower()
    if (local in _BOUNCE_LOCALS or "report-type=delivery-status" in content_type.replace(" ", "")
            or ("report-type=\"delivery-status\"" in content_type.replace(" ", ""))
            or (_BOUNCE_SUBJECT.search(subject) and not sender)):
        kind, detail = BOUNCE, subject
    elif auto_submitted and not auto_submitted.startswith("no"):
        kind, detail = AUTO_REPLY, f"Auto-Submitted: {auto_submitted}"
    elif _header_text(msg, "X-Autoreply") or _header_text(msg, "X-Autorespond"):
        kind, detail = AUTO_REPLY, "marked as an automatic reply"
    elif _header_text(msg, "Precedence").lower() in ("auto_reply", "bulk", "junk"):
        kind, detail = AUTO_REPLY, f"Precedence: {_header_text(msg, 'Precedence').lower()}"
    elif _AUTO_SUBJECT.search(subject):
        kind, detail = AUTO_REPLY, f"the subject says {subject[:60]!r}"
    elif _FORWARD_SUBJECT.search(subject):
        kind, detail = FORWARD, "a forwarded thread"
    return Incoming(uid=uid, sender=sender, subject=subject, date=_date(msg, received),
                    message_id=own[0] if own else None, thread_ids=tuple(thread), kind=kind,
                    detail=detail)


def parse_message(data: bytes) -> EmailMessage:
    """Parse a whole message with the standard library's modern policy."""
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(data)


def body_text(msg: EmailMessage) -> str:
    """Return the plain text of a message: text/plain, else its HTML made text."""
    from draft_feedback.message import _body_text as rejection_body

    return rejection_body(msg)


def is_forward(text: str) -> bool:
    """True if a message's own text starts by forwarding an earlier one."""
    match = _FORWARD_MARKER.search(text)
    return match is not None and not strip_quoted(text[:match.start()]).strip()


def bounce_mentions(data: bytes, message_ids: set[str]) -> tuple[set[str], str]:
    """Return which of our Message-IDs a bounce names, and its diagnostic line if it has one."""
    text = data.decode("utf-8", "replace")
    named = {i for i in _MSG_ID.findall(text) if i in message_ids}
    diagnostic = ""
    match = re.search(r"^Diagnostic-Code:\s*(?:smtp;\s*)?(.+)$", text, re.I | re.M)
    if match:
        diagnostic = "".join(c for c in match.group(1).strip() if c.isprintable())[:200]
    return named, diagnostic


def strip_quoted(text: str) -> str:
    """Keep what the person wrote: drop quoted history, forwarded parts and mobile sign-offs."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        bare = line.strip()
        joined = f"{bare} {lines[index + 1].strip()}" if index + 1 < len(lines) else bare
        if any(p.match(bare) for p in _HISTORY_STARTS):
            break
        if bare.lower().startswith(("on ", "am ", "le ", "el ")) and any(
                p.match(joined) for p in _HISTORY_STARTS[:4]):
            break  # "On Tue, ... Alex Rivera <" + "alex@example.com> wrote:" over two lines
        if _HEADER_BLOCK.match(bare) and any(
                _HEADER_NEXT.match(n.strip()) for n in lines[index + 1:index + 4]):
            break  # Outlook's "From: ... Sent: ... To: ... Subject:" block
        if bare.startswith(">"):
            continue
        if bare == "--" or _SIGN_OFFS.match(bare):
            break
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def is_form_answer(text: str) -> bool:
    """True if a reply says it cannot give feedback (a form answer), in the usual wordings."""
    return _FORM_PHRASES.search(" ".join(text.split())) is not None


def normalised_subject(subject: str) -> str:
    """A subject without reply and forward prefixes, lower-cased, for matching a thread."""
    text = re.sub(r"^(?:\s*(?:re|aw|sv|vs|antw|rif|fwd?|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+", "",
                  subject, flags=re.I)
    return " ".join(text.lower().split())
