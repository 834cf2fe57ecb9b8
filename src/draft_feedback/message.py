"""Header validation, building the outgoing EmailMessage, and reading a saved rejection .eml."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from draft_feedback.errors import BadInput

if TYPE_CHECKING:  # the email package is imported lazily at run time to keep start-up fast
    from email.message import EmailMessage
    from email.policy import Policy

ADDRESS_EXAMPLE = '"Name <name@example.com>"'

# Bidi controls can make a header read differently from what it contains ("Trojan Source");
# U+061C is the Arabic letter mark, the one bidi control outside the General Punctuation block.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Cc covers C0, DEL and C1 (so TAB and U+0085 too); Zl/Zp are U+2028/U+2029; Cs are lone
# surrogates from undecodable command-line bytes, which would only fail later, at send time.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})

# Deliberately looser than RFC 2047 (Python's own decoder is lenient too): anything shaped
# like an encoded word is decoded by some mail program, so it is judged by what it decodes to.
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([^?]*)\?([^?]*)\?=")
_MSG_ID = re.compile(r"<[^<>\s]+>")
_MAX_REFERENCES = 20
MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1, excluding CRLF
MAX_NAME_CHARS = 200  # keeps an unfoldable one-word name well inside MAX_LINE_OCTETS
MAX_MSG_ID_CHARS = 250
_WSP = re.compile(r"[ \t]+")
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')  # RFC 5322 3.2.3: a name holding one is quoted


def _forbidden_char(value: str) -> str | None:
    """Return the first character that may not appear in a header value, if any."""
    for ch in value:
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            return ch
    return None


def _decode_encoded_word(charset: str, encoding: str, text: str) -> str | None:
    """Decode one RFC 2047 encoded word as leniently as mail readers do; None if not q/b."""
    data = text.encode("utf-8", "surrogateescape")
    kind = encoding.lower()
    if kind == "q":
        raw = re.sub(
            rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data.replace(b"_", b" ")
        )
    elif kind == "b":
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        if len(cleaned) % 4 == 1:  # Python's decoder drops a dangling sextet the same way
            cleaned = cleaned[:-1]
        try:
            raw = base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            return None
    else:
        return None
    name = charset.split("*", 1)[0].strip() or "us-ascii"
    try:
        return raw.decode(name, "replace")
    except (LookupError, ValueError):
        # An unknown charset still must not hide a newline: every byte maps to a code point.
        return raw.decode("latin-1")


def _control_problem(value: str) -> str | None:
    """Describe a control character in value or in what its encoded words decode to."""
    bad = _forbidden_char(value)
    if bad is not None:
        return f"a line break or control character (U+{ord(bad):04X})"
    for match in _ENCODED_WORD.finditer(value):
        decoded = _decode_encoded_word(*match.groups())
        bad = _forbidden_char(decoded) if decoded is not None else None
        if bad is not None:
            return (
                f"an encoded word ('{match.group(0)}') that decodes to a line break or "
                f"control character (U+{ord(bad):04X})"
            )
    return None


def _header_problem(value: str) -> str | None:
    """Describe why value may not go into a header, or None if it may."""
    problem = _control_problem(value)
    if problem is not None:
        return problem
    match = _ENCODED_WORD.search(value)
    if match is not None:
        # Python 3.11.7 writes such text verbatim and readers then decode it, so the recipient
        # would see something other than what was checked and stored (CVE-2024-6923).
        return f"an encoded word ('{match.group(0)}') that mail programs would decode"
    return None


def check_header_value(value: str, option: str) -> str:
    """Refuse text that could break or disguise a mail header; return it stripped."""
    problem = _header_problem(value)
    if problem is not None:
        raise BadInput(f"{option}: contains {problem}; remove it and try again")
    return value.strip()


def _quoted(text: str) -> str:
    """Return text as an RFC 5322 quoted-string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Address:
    """One mailbox: a display name ("" if none) and a validated address."""

    name: str
    email: str

    def formatted(self) -> str:
        """Return 'Name <addr>' (name quoted where RFC 5322 needs it) or the bare address."""
        if not self.name:
            return self.email
        name = _quoted(self.name) if _SPECIALS.search(self.name) else self.name
        return f"{name} <{self.email}>"

    @property
    def domain(self) -> str:
        """Return the part after the last '@'."""
        return self.email.rpartition("@")[2]


def _invalid(option: str, shown: str, reason: str) -> BadInput:
    """Build the one wording used for every unusable address."""
    return BadInput(
        f"{option}: '{shown}' is not a valid email address ({reason}); "
        f"write it as {ADDRESS_EXAMPLE}"
    )


def _validator_reason(message: str) -> str:
    """Fit an email-validator sentence inside parentheses."""
    reason = message.strip().rstrip(".")
    if len(reason) > 1 and reason[0].isupper() and reason[1].islower():
        reason = reason[0].lower() + reason[1:]
    return reason


# The ordinary address, all ASCII, that email-validator would accept as it is (with the domain
# lower-cased): a dot-atom local part, and two or more letter-digit-hyphen labels ending in an
# alphabetic top-level domain. Anything else, "--" in a label included (punycode and reserved
# forms), goes to email-validator, which also words every refusal. tests/test_message.py holds
# this to email-validator's verdict on generated addresses.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_PLAIN_ADDR = re.compile(
    rf"(?P<local>[{_ATEXT}]{{1,64}}(?:\.[{_ATEXT}]+)*)"
    r"@(?P<domain>(?:(?!-)(?![A-Za-z0-9-]*--)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{2,63})"
)
_PLAIN_NAME = re.compile(rf"[ {_ATEXT}]*")
# email-validator's SPECIAL_USE_DOMAIN_NAMES: never globally deliverable.
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _plain_addr(addr: str) -> str | None:
    """Return an ordinary ASCII address normalised as email-validator would, else None."""
    match = _PLAIN_ADDR.fullmatch(addr)
    if match is None or len(addr) > 254 or len(match["local"]) > 64:
        return None
    domain = match["domain"].lower()
    if len(domain) > 253 or domain.rpartition(".")[2] in _SPECIAL_USE:
        return None
    return f"{match['local']}@{domain}"


@functools.lru_cache(maxsize=1024)  # a run checks the same sender and recipients many times
def _check_addr(addr: str) -> tuple[str | None, str]:
    """Validate a bare addr-spec: (normalised address, "") or (None, the reason it is refused)."""
    plain = _plain_addr(addr)
    if plain is not None:
        return plain, ""
    return _validator_check(addr)


def _validator_check(addr: str) -> tuple[str | None, str]:
    """_check_addr by email-validator alone."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(
            addr,
            check_deliverability=False,
            # The message goes out without SMTPUTF8 (see build_message); a non-ASCII local part
            # cannot be written there, so it is refused now rather than failing at send time.
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            strict=True,  # enforces the 64-octet local part
            test_environment=False,
            globally_deliverable=True,  # refuses "a@b" and .local/.test; keeps example.com
        )
    except EmailNotValidError as exc:
        return None, _validator_reason(str(exc))
    typed_domain = addr.rpartition("@")[2]
    domain = unicodedata.normalize("NFC", typed_domain).lower()
    return f"{result.local_part}@{domain}", ""


def _validate_addr(addr: str, option: str) -> str:
    """Validate a bare addr-spec and return it normalised, or raise BadInput naming option."""
    email, reason = _check_addr(addr)
    if email is None:
        raise _invalid(option, addr, reason)
    return email


def _scan(value: str) -> tuple[list[str], list[int], list[int], str | None]:
    """Split at top-level ',' and ';', and find top-level '<' and '>' (quotes, comments aside)."""
    pieces: list[str] = []
    opens: list[int] = []
    closes: list[int] = []
    start = 0
    in_quote = escaped = False
    comment_depth = 0
    in_angle = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\" and (in_quote or comment_depth):
            escaped = True
        elif in_quote:
            in_quote = ch != '"'
        elif ch == '"' and not in_angle:
            in_quote = True
        elif ch == "(" and not in_angle:
            comment_depth += 1
        elif ch == ")" and not in_angle:
            if comment_depth == 0:
                return pieces, opens, closes, "an unmatched ')'"
            comment_depth -= 1
        elif comment_depth:
            continue
        elif ch == "<":
            if in_angle:
                return pieces, opens, closes, "a '<' inside '<...>'"
            in_angle = True
            opens.append(i)
        elif ch == ">":
            if not in_angle:
                return pieces, opens, closes, "an unmatched '>'"
            in_angle = False
            closes.append(i)
        elif ch in ",;" and not in_angle:
            pieces.append(value[start:i])
            start = i + 1
        elif ch == ":" and not in_angle:
            return pieces, opens, closes, "a ':' outside quotes; put the name in double quotes"
    pieces.append(value[start:])
    if in_quote:
        return pieces, opens, closes, "an unclosed double quote"
    if comment_depth:
        return pieces, opens, closes, "an unclosed '('"
    if in_angle:
        return pieces, opens, closes, "an unclosed '<'"
    return pieces, opens, closes, None


def _unquote_phrase(text: str) -> str:
    """Drop the quotes and backslash escapes of a display name, collapsing whitespace."""
    out: list[str] = []
    in_quote = escaped = False
    for ch in text:
        if escaped:
            out.append(ch)
            escaped = False
        elif in_quote and ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _count_addresses(pieces: list[str]) -> int:
    """Count the addresses in top-level pieces: each '<...>', or a piece with an '@'."""
    return sum(max(1, len(_scan(p)[1])) for p in pieces if "@" in p or "<" in p)


def parse_address(text: str, option: str = "--to") -> Address:
    """Parse exactly one 'Name <addr>' or bare address, validated as email-validator would."""
    value = check_header_value(text, option)
    if not value:
        raise BadInput(f"{option}: an address is required; write it as {ADDRESS_EXAMPLE}")
    pieces, opens, closes, problem = _scan(value)
    if problem is None:
        count = _count_addresses(pieces)
        if count > 1:
            raise BadInput(f"{option}: give exactly one address, not {count}")
        if len(pieces) > 1:
            # "Shah, Priya <priya@example.com>" is one person written the Outlook way.
            named = sum(1 for p in pieces if p.strip()) > 1
            problem = (
                "a ',' or ';' in the name; put the name in double quotes"
                if named
                else "a stray ',' or ';'"
            )
    if problem is not None:
        raise _invalid(option, value, problem)
    if opens:
        lt, gt = opens[0], closes[0]
        if value[gt + 1 :].strip():
            raise _invalid(option, value, "text after the closing '>'")
        name = _unquote_phrase(value[:lt])
        addr = value[lt + 1 : gt].strip()
    else:
        name, addr = "", value
    if not addr:
        raise _invalid(option, value, "there is no address between '<' and '>'")
    email = _validate_addr(addr, option)
    # getaddresses is the second opinion: on Python 3.11.7 it has no strict mode, so it is used
    # only to confirm that a standard reader finds the same single address (CVE-2023-27043).
    # A name of plain words before an ordinary address leaves no room for two readings.
    plain = _PLAIN_NAME.fullmatch(value[: opens[0]] if opens else "") and _plain_addr(addr)
    if not plain:
        from email.utils import getaddresses

        found = getaddresses([value])
        if len(found) != 1 or found[0][1] != addr:
            raise _invalid(option, value, "mail programs would not read it as one address")
    return Address(name=_check_name(name, option), email=email)


def _ascii_domain(domain: str, option: str) -> str:
    """Return the domain in the ASCII (punycode) form that goes on the wire."""
    domain = domain.strip().lower()
    if not domain:
        raise BadInput(f"{option}: the domain is empty; write the address as {ADDRESS_EXAMPLE}")
    if domain.isascii():
        return domain
    import idna

    try:
        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        raise BadInput(
            f"{option}: the domain '{domain}' cannot be written in ASCII ({exc}); "
            "check its spelling"
        ) from None


def make_message_id(domain: str) -> str:
    """Return a new, unique Message-ID on the (punycode) domain, angle brackets included."""
    from email.utils import make_msgid

    option = "Message-ID domain"
    domain = check_header_value(domain, option)
    if not domain:
        raise BadInput(f"{option}: the domain is empty; set the sender's address")
    # A domain is valid here exactly when an address on it would be.
    valid, reason = _check_addr(f"postmaster@{domain}")
    if valid is None:
        raise BadInput(f"{option}: '{domain}' is not a valid domain ({reason})")
    return make_msgid(domain=_ascii_domain(domain, option))


def cap_subject(subject: str, limit: int = 200) -> str:
    """Collapse whitespace and cut at a word boundary with '…' when over limit characters."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    text = " ".join(subject.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Cut at a word only if that keeps most of the room; one giant word is cut mid-word.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def _check_name(name: str, option: str) -> str:
    """Check a display name: header-safe and short enough to fold; whitespace collapsed."""
    # Readers collapse runs of whitespace in a display name anyway; doing it here means what is
    # shown and stored is what the recipient sees.
    name = " ".join(check_header_value(name, option).split())
    if len(name) > MAX_NAME_CHARS:
        raise BadInput(
            f"{option}: the name is {len(name)} characters long; "
            f"shorten it to {MAX_NAME_CHARS} or fewer"
        )
    return name


def _addr_spec(address: Address, header: str) -> str:
    """Re-validate an Address and return its addr-spec with the domain in punycode."""
    email = _validate_addr(check_header_value(address.email, header), header)
    local, _, domain = email.rpartition("@")
    return f"{local}@{_ascii_domain(domain, header)}"


def envelope(email: str) -> str:
    """Return an address as SMTP MAIL FROM / RCPT TO carry it: validated, domain in punycode."""
    return _addr_spec(Address(name="", email=email), "address")


# RFC 2047 5(3): the only characters an encoded word in a phrase may carry unencoded; using
# the same set in Subject keeps one encoder for both.
_EW_LITERAL = re.compile(r"[A-Za-z0-9!*+\-/]")
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
        plain = _quoted(text) if phrase and _SPECIALS.search(text) else text
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
    name = _check_name(address.name, f"{header} name")
    spec = _addr_spec(address, header)
    if not name:
        return spec
    return _folded(header, [*_header_words(name, header, phrase=True), f"<{spec}>"])


def _msg_ids(value: str, header: str) -> str:
    """Check a space-separated list of <message-ids> and return it normalised."""
    value = check_header_value(value, header)
    ids = value.split()
    if not ids or any(_MSG_ID.fullmatch(i) is None for i in ids):
        raise BadInput(f"{header}: '{value}' is not a list of <message-id> values")
    if any(len(i) > MAX_MSG_ID_CHARS for i in ids):
        raise BadInput(f"{header}: a message id is over {MAX_MSG_ID_CHARS} characters long")
    return " ".join(ids)


_PLAIN_LINE = re.compile(r"[\t\x20-\x7e]{0,78}")


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
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime

    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("build_message needs a timezone-aware date")
    # Set the body under a 76-column policy: Python encodes quoted-printable to the policy's
    # max_line_length, and RFC 2045 allows 76, not SMTP's 78. Headers fold at 78 on output.
    msg = EmailMessage(policy=SMTP.clone(max_line_length=76))
    # From, To and Subject are encoded and folded here, not by the email package: Python 3.11
    # sometimes leaves a space between two encoded words when it folds, and readers drop it
    # ("Flüsse« – Bitte" arrives as "Flüsse«– Bitte"). set_raw stores them exactly as written.
    msg.set_raw("From", _address_header(sender, "From"))
    msg.set_raw("To", _address_header(to, "To"))
    capped = cap_subject(check_header_value(subject, "Subject"))
    msg.set_raw("Subject", _folded("Subject", _header_words(capped, "Subject", phrase=False)))
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = _msg_ids(message_id, "Message-ID")
    if in_reply_to:
        msg["In-Reply-To"] = _msg_ids(in_reply_to, "In-Reply-To")
    if references:
        msg["References"] = _msg_ids(references, "References")
    msg["MIME-Version"] = "1.0"
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    # Plain ASCII with short lines stays 7bit so it reads as written; anything else is
    # quoted-printable: 7-bit safe for any relay, lines capped at 76, still mostly legible.
    plain = all(_PLAIN_LINE.fullmatch(line) for line in text.split("\n"))
    msg.set_content(
        text, subtype="plain", charset="utf-8", cte="7bit" if plain else "quoted-printable"
    )
    msg.policy = _wire_policy()
    # The email package cannot fold one very long word in an address header; never hand on a
    # message that a server would reject for a line over RFC 5322's 998 octets.
    longest = max(len(line) for line in message_bytes(msg).split(b"\r\n"))
    if longest > MAX_LINE_OCTETS:
        raise BadInput(
            f"the message has a line of {longest} octets (the limit is {MAX_LINE_OCTETS}); "
            "shorten the names, subject or references"
        )
    return msg


def _wire_policy() -> Policy:
    """Return email.policy.SMTP, told to keep the headers build_message folded itself."""
    from email.policy import SMTP

    # With the default refold_source="long", a hand-folded header with one line over 78
    # (a long address) would be refolded by the very code whose folding is avoided above.
    return SMTP.clone(refold_source="none")


def message_bytes(msg: EmailMessage) -> bytes:
    """Serialise a message exactly as it goes on the wire (CRLF, folded); deterministic."""
    return msg.as_bytes(policy=_wire_policy())


# --- reading a saved rejection -----------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """What a saved rejection email tells us about whom to ask, and when and why."""

    source: str
    to: Address | None
    org: str
    received_at: datetime
    subject: str
    reply_subject: str
    role: str
    message_id: str | None
    references: str | None
    automated: bool
    automated_reason: str
    body_text: str


DEFAULT_AUTOMATED_LOCAL_PARTS = (
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "notifications",
    "mailer-daemon",
)
DEFAULT_AUTOMATED_PHRASES = (
    "do not reply",
    "do-not-reply",
    "this mailbox is not monitored",
    "automated message",
    "please don't reply",
)

# Words that name a department or a mailing system rather than the organisation itself.
_ORG_NOISE_PHRASES = (
    "talent acquisition",
    "human resources",
    "people operations",
    "people ops",
    "people team",
    "do not reply",
    "no reply",
)
_ORG_NOISE_WORDS = frozenset(
    """careers career talent recruiting recruitment recruiter recruiters jobs job hiring team
    hr noreply no-reply donotreply do-not-reply notifications notification applications
    application applicants apply ta mailer""".split()
)
_ORG_EDGE_WORDS = frozenset("at from of the and & @ for with".split())
_ROLE_LOCAL_WORDS = _ORG_NOISE_WORDS | frozenset(
    "info hello contact office people recruit talentacquisition no reply do not".split()
)
# Mail systems and mailbox providers: their domain says nothing about the organisation.
_NON_ORG_DOMAINS = frozenset(
    """greenhouse.io greenhouse-mail.io lever.co myworkday.com workday.com smartrecruiters.com
    icims.com ashbyhq.com taleo.net jobvite.com workable.com workablemail.com bamboohr.com
    successfactors.com successfactors.eu breezy.hr recruitee.com teamtailor.com personio.de
    jazzhr.com applytojob.com linkedin.com indeed.com indeedemail.com sendgrid.net mailgun.org
    amazonses.com gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com
    icloud.com me.com aol.com proton.me protonmail.com gmx.de gmx.net gmx.com web.de
    t-online.de""".split()
)
_SECOND_LEVEL_LABELS = frozenset("co com org net ac gov edu ltd plc ne or go".split())

# Patterns for reading subjects stay source strings: the re module compiles and caches them on
# first use, so importing this module (every command does) does not pay for them.
_REPLY_PREFIX = r"^(?:\s*(?:re|aw|sv|vs|antw|rif)\s*(?:\[\d+\])?\s*:\s*)+"
_ANY_PREFIX = r"^(?:\s*(?:(?:re|aw|sv|vs|antw|rif|fwd?|wg|tr)\s*(?:\[\d+\])?\s*:|\[[^\]]*\])\s*)+"
_ROLE_NOUN = r"(?:position|role|job|opening|vacancy|post)"
_ARTICLE = r"(?:(?:the|our|your|a|an)\s+)?"
_QUOTES = "»«\"“”„'‘’‚›‹"
_ROLE_PATTERNS = (
    r"\b(?:role|position) of (?P<role>.+?)(?: (?:at|with) .+)?$",
    # "Your application to X at Y" / "Your application for the X position with Y"
    rf"\bapplication (?:for|to) {_ARTICLE}(?P<role>.+?)(?: {_ROLE_NOUN})? (?:at|with) .+$",
    rf"\bapplication for {_ARTICLE}(?P<role>.+?)(?: {_ROLE_NOUN})?(?:\s+[-–—|]\s+.+)?$",
    r"\bregarding your application(?: for)?\s*[:\-–—]\s*(?P<role>.+)$",
    r"\byour application\s*:\s*(?P<role>.+)$",
    r"\b(?:update|news|decision|feedback|outcome) (?:on|about|regarding|of) your "
    r"(?P<role>.+?) application\b",
    rf"\b(?:manuscript|manuskript|submission|einsendung|pitch|proposal|typoskript)\b"
    rf"\s*[:,]?\s*[{_QUOTES}](?P<role>[^{_QUOTES}]+)[{_QUOTES}]",
    r"\byour (?:submission|manuscript|pitch|proposal)\s*:\s*(?P<role>.+)$",
    rf"^(?:.*\b(?:for|in|about|regarding|on)\s+)?{_ARTICLE}(?P<role>.+?)\s+{_ROLE_NOUN}\b",
)
_ROLE_ID_SUFFIX = (
    r"\s*(?:[(\[](?:[^)\]]*(?:\d|#|\bid\b|\breq\b))[^)\]]*[)\]]|#\s*\S+|\b(?:req|jr|r)-?\d+)\s*$"
)


def _unescape_8bit(value: str) -> str:
    """Recover raw UTF-8 header bytes that the parser kept as surrogate escapes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _file_value(value: str, source: str, header: str, *, encoded: bool = False) -> str:
    """Unfold a value from the file and refuse it if it could not safely go into a header.

    encoded=True is for raw, still-encoded header text, where encoded words are expected and
    only what they decode to matters.
    """
    # Folding whitespace (an Outlook fold is CRLF + TAB) is legitimate in a file; unfolded, it
    # is a plain space. Only what remains is judged.
    value = _WSP.sub(" ", _unescape_8bit(value)).strip()
    problem = _control_problem(value) if encoded else _header_problem(value)
    if problem is not None:
        raise BadInput(
            f"{source}: the {header} header contains {problem}, which is unsafe to copy into "
            "a reply; give --to, --org and --rejected instead of --from-eml"
        )
    return value


def _raw_headers(msg: EmailMessage) -> dict[str, list[str]]:
    """Map lower-cased header names to their raw values, unfolded, without parsing them."""
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        unfolded = re.sub(r"\r?\n(?=[ \t])", "", str(value))
        headers.setdefault(name.lower(), []).append(unfolded)
    return headers


def _parsed_header(msg: EmailMessage, name: str) -> object | None:
    """Return the structured header, or None where the email package cannot parse it."""
    try:
        return msg[name]
    # The 3.11 header parser raises assorted errors on hostile input instead of registering
    # defects (ValueError for CR/LF in a name, IndexError and others on broken syntax).
    except Exception:  # any parse failure means "unusable", never a traceback
        return None


def _candidates(msg: EmailMessage, name: str, source: str) -> tuple[list[Address], str | None]:
    """Return the usable addresses of an address header, or why there is none."""
    header = _parsed_header(msg, name)
    if header is None:
        return [], "it could not be read"
    addresses = getattr(header, "addresses", ())
    usable: list[Address] = []
    reason: str | None = "it holds no address"
    for mailbox in addresses:
        display = _file_value(str(mailbox.display_name or ""), source, name)
        addr = _file_value(str(mailbox.addr_spec or ""), source, name)
        email, why = _check_addr(addr)
        if email is None:
            reason = f"'{addr}' is not a valid address: {why}"
            continue
        # An absurdly long name is dropped rather than the address: the address is what matters.
        usable.append(Address(name=display if len(display) <= MAX_NAME_CHARS else "", email=email))
    return usable, (None if usable else reason)


def _matches_local(local: str, parts: Iterable[str]) -> bool:
    """True if the local part is one of parts, or one of them followed by a separator."""
    local = local.lower()
    for part in parts:
        part = part.lower().strip()
        if part and (local == part or re.match(re.escape(part) + r"[-._+]", local)):
            return True
    return False


def _domain_listed(domain: str, domains: Iterable[str]) -> str | None:
    """Return the listed domain that domain equals or is a subdomain of."""
    domain = domain.lower().rstrip(".")
    for listed in domains:
        listed = listed.lower().strip().strip("@.")
        if listed and (domain == listed or domain.endswith("." + listed)):
            return listed
    return None


def _normalise_phrase_text(text: str) -> str:
    """Lower-case, straighten apostrophes and collapse whitespace for phrase matching."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    return " ".join(text.lower().split())


def _org_from_name(name: str) -> tuple[str, bool]:
    """Clean department words off a display name; return it and whether any were removed."""
    original = " ".join(name.split())
    text = re.sub(r"\s+via\s+.+$", "", original, flags=re.I)
    for phrase in _ORG_NOISE_PHRASES:
        text = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", " ", text, flags=re.I)
    words = [w for w in re.split(r"\s+", text) if w]
    kept: list[str] = []
    for word in words:
        bare = word.strip("()[]{}|,:;·•–—-").lower()
        if bare in _ORG_NOISE_WORDS:
            continue
        if bare or word not in ("|", "-", "–", "—", "·", "•", ":", ","):
            kept.append(word)
    while kept and kept[0].strip(",:;|-–—").lower() in _ORG_EDGE_WORDS | {""}:
        kept.pop(0)
    while kept and kept[-1].strip(",:;|-–—").lower() in _ORG_EDGE_WORDS | {""}:
        kept.pop()
    cleaned = " ".join(kept).strip(" ,:;|-–—()")
    return cleaned, cleaned != original


def _org_from_domain(domain: str) -> str:
    """Guess an organisation from a domain: 'mail.acme-corp.co.uk' -> 'Acme Corp'."""
    if _domain_listed(domain, _NON_ORG_DOMAINS):
        return ""
    labels = [label for label in domain.lower().split(".") if label]
    if labels and any(label.startswith("xn--") for label in labels):
        import idna

        try:
            labels = idna.decode(".".join(labels)).split(".")
        except idna.IDNAError:
            return ""
    if len(labels) < 2:
        return ""
    index = -2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL_LABELS:
        index = -3
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", labels[index]) if part)


def _guess_org(sender: Address) -> str:
    """Guess the organisation from the sender's display name, else from its domain."""
    local = sender.email.rpartition("@")[0].lower()
    name = sender.name if "@" not in sender.name else ""
    cleaned, changed = _org_from_name(name) if name else ("", False)
    if cleaned and changed:
        return cleaned
    local_words = set(re.split(r"[-._+]+", local))
    if cleaned and local_words & _ROLE_LOCAL_WORDS:
        # A role mailbox (jobs@, careers@) is named after the organisation, not a person.
        return cleaned
    return _org_from_domain(sender.domain)


def _clean_role(role: str) -> str:
    """Trim company suffixes, requisition ids, quotes and punctuation off a role title."""
    role = " ".join(role.split())
    previous = None
    while previous != role:
        previous = role
        role = re.sub(_ROLE_ID_SUFFIX, "", role, flags=re.I)
        role = re.sub(r"\s+(?:at|with)\s+[^,]+$", "", role, flags=re.I)
        role = re.sub(r"\s+[-–—|]\s+.+$", "", role)
        role = role.strip(" ,;:.!?" + _QUOTES)
    return role if len(role) <= 120 else ""


def _guess_role(subject: str, org: str) -> str:
    """Find the role in a subject line where a common pattern gives it."""
    text = re.sub(_ANY_PREFIX, "", subject, flags=re.I).strip()
    for pattern in _ROLE_PATTERNS:
        match = re.search(pattern, text, flags=re.I)
        if match:
            role = _clean_role(match.group("role"))
            if (
                role
                and role.lower() != org.lower()
                and not re.fullmatch(r"(?:your|my|the|an?)?\s*application", role, re.I)
            ):
                return role
    return ""


def _reply_subject(subject: str) -> str:
    """'Re: ' plus the subject, without stacking reply prefixes."""
    if not subject:
        return ""
    rest = re.sub(_REPLY_PREFIX, "", subject, flags=re.I).strip()
    return cap_subject(f"Re: {rest}")


def _html_to_text(html: str) -> str:
    """Convert HTML to readable plain text, crudely: blocks become lines, scripts vanish."""
    from html.parser import HTMLParser  # imported here, not at the top, to keep start-up fast

    blocks = frozenset(
        "p div li tr table ul ol h1 h2 h3 h4 h5 h6 blockquote section article header footer "
        "pre hr dl dt dd".split()
    )
    hidden = frozenset({"script", "style", "head", "title", "template"})
    parts: list[str] = []
    skipping = 0

    class TextExtractor(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            nonlocal skipping
            if tag in hidden:
                skipping += 1
            elif tag == "br" or tag in blocks:
                parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            nonlocal skipping
            if tag in hidden:
                skipping = max(0, skipping - 1)
            elif tag in blocks:
                parts.append("\n")

        def handle_data(self, data: str) -> None:
            if not skipping:  # HTML collapses whitespace; a no-break space is a space here
                parts.append(re.sub(r"\s+", " ", data.replace("\u00a0", " ")))

    extractor = TextExtractor(convert_charrefs=True)
    extractor.feed(html)
    extractor.close()
    lines = [line.strip() for line in "".join(parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _body_text(msg: EmailMessage) -> str:
    """Return the plain-text body: text/plain if there is one, else the HTML made text."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # a malformed MIME tree just means no usable body
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "html":
        return _html_to_text(content)
    return "\n".join(line.rstrip() for line in content.split("\n")).strip()


def _received_at(msg: EmailMessage, raw: dict[str, list[str]], source: str) -> datetime:
    """Read the Date header as an aware datetime."""
    if "date" not in raw:
        raise BadInput(
            f"{source}: there is no Date header, so the time of the rejection is unknown; "
            "give it with --rejected"
        )
    header = _parsed_header(msg, "Date")
    when = getattr(header, "datetime", None)
    if not isinstance(when, datetime):
        shown = raw["date"][0].strip()[:80]
        raise BadInput(
            f"{source}: the Date header ('{shown}') is not a date; give the time with --rejected"
        )
    if when.tzinfo is None:
        # RFC 5322 "-0000": the time is UTC and the sender's zone is unknown.
        when = when.replace(tzinfo=UTC)
    return when


def _thread_ids(raw: dict[str, list[str]], source: str) -> tuple[str | None, str | None]:
    """Return the original Message-ID and the References a reply to it should carry."""
    message_id: str | None = None
    if "message-id" in raw:
        value = _file_value(raw["message-id"][0], source, "Message-ID")
        found = _MSG_ID.search(value)
        if found and len(found.group(0)) <= MAX_MSG_ID_CHARS:
            message_id = found.group(0)
        elif value and " " not in value and "@" in value:
            # Some mailers omit the angle brackets; threading still works once they are added.
            candidate = f"<{value.strip('<>')}>"
            if _MSG_ID.fullmatch(candidate) and len(candidate) <= MAX_MSG_ID_CHARS:
                message_id = candidate
    chain: list[str] = []
    for header in ("references", "in-reply-to"):
        if header in raw:
            value = _file_value(" ".join(raw[header]), source, header.title())
            chain = [i for i in _MSG_ID.findall(value) if len(i) <= MAX_MSG_ID_CHARS]
            if chain:
                break
    if message_id:
        chain.append(message_id)
    unique = list(dict.fromkeys(chain))
    if len(unique) > _MAX_REFERENCES:
        # Keep the thread's root and the most recent ids, as RFC 5322 3.6.4 readers expect.
        unique = unique[:1] + unique[-(_MAX_REFERENCES - 1) :]
    return message_id, (" ".join(unique) or None)


def parse_rejection(
    data: bytes,
    source: str,
    *,
    automated_domains: Iterable[str] = (),
    automated_local_parts: Iterable[str] = DEFAULT_AUTOMATED_LOCAL_PARTS,
    automated_phrases: Iterable[str] = DEFAULT_AUTOMATED_PHRASES,
) -> Rejection:
    """Read a saved rejection email: whom to ask, the organisation, the time and the thread."""
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.default).parsebytes(data)
    raw = _raw_headers(msg)
    if "from" not in raw and "date" not in raw:
        raise BadInput(
            f"{source}: not an email message (no From or Date header); "
            "save the rejection from your mail client as .eml"
        )
    for header in ("from", "reply-to", "subject", "date", "auto-submitted"):
        for value in raw.get(header, ()):
            _file_value(value, source, header.title(), encoded=True)

    if "from" not in raw:
        raise BadInput(f"{source}: there is no From header; give the recipient with --to")
    senders, from_problem = _candidates(msg, "From", source)
    replies, _ = _candidates(msg, "Reply-To", source) if "reply-to" in raw else ([], None)
    if not senders and not replies:
        raise BadInput(
            f"{source}: the From header has no usable address ({from_problem}); "
            "give the recipient with --to"
        )
    received_at = _received_at(msg, raw, source)

    local_parts = tuple(automated_local_parts)
    sender = senders[0] if senders else replies[0]
    # Someone who can answer: a no-reply mailbox is nobody to ask, so `to` stays None then.
    to = next(
        (
            a
            for a in (*replies, *senders)
            if not _matches_local(a.email.rpartition("@")[0], local_parts)
        ),
        None,
    )

    subject_header = _parsed_header(msg, "Subject")
    subject = _file_value(str(subject_header or ""), source, "Subject") if subject_header else ""
    subject = " ".join(subject.split())
    message_id, references = _thread_ids(raw, source)
    body_text = _body_text(msg)
    org = _guess_org(sender)

    reason = ""
    sender_local = sender.email.rpartition("@")[0]
    listed = _domain_listed(sender.domain, automated_domains)
    auto_submitted = " ".join(raw.get("auto-submitted", [""])).strip().lower()
    if _matches_local(sender_local, local_parts):
        reason = f"the sender is a no-reply address ({sender.email})"
    elif listed:
        reason = f"the sender's domain is listed as automated ({listed})"
    elif auto_submitted and not auto_submitted.startswith("no"):
        reason = f"the message is marked Auto-Submitted: {auto_submitted}"
    else:
        haystack = _normalise_phrase_text(f"{subject}\n{body_text}")
        for phrase in automated_phrases:
            if phrase and _normalise_phrase_text(phrase) in haystack:
                reason = f"the message says '{phrase}'"
                break

    return Rejection(
        source=source,
        to=to,
        org=org,
        received_at=received_at,
        subject=subject,
        reply_subject=_reply_subject(subject),
        role=_guess_role(subject, org),
        message_id=message_id,
        references=references,
        automated=bool(reason),
        automated_reason=reason,
        body_text=body_text,
    )
