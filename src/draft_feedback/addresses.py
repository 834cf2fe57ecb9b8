"""Parsing and checking addresses and header values: the leaf every module may import."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
from dataclasses import dataclass

from draft_feedback.errors import BadInput
from draft_feedback.patterns import compile_kept

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
_ENCODED_WORD = compile_kept(r"=\?([^?]*)\?([^?]*)\?([^?]*)\?=")
# ASCII only: a non-ASCII id was sent as an encoded word, which no mail client threads by.
MSG_ID = compile_kept(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1, excluding CRLF
MAX_NAME_CHARS = 200  # keeps an unfoldable one-word name well inside MAX_LINE_OCTETS
MAX_MSG_ID_CHARS = 250
SPECIALS = compile_kept(r'[][\\()<>@,:;".]')  # RFC 5322 3.2.3: a name holding one is quoted


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


def control_problem(value: str) -> str | None:
    """Describe a control character in value or in what its encoded words decode to."""
    bad = _forbidden_char(value)
    if bad is not None and 0xDC80 <= ord(bad) <= 0xDCFF:
        # How Python keeps a command-line byte that is not UTF-8 (a Latin-1 'é' is 0xE9).
        return (f"the byte 0x{ord(bad) - 0xDC00:02X} (U+{ord(bad):04X}), which is not "
                "UTF-8 text; set the terminal (or the script) to UTF-8")
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


def header_problem(value: str) -> str | None:
    """Describe why value may not go into a header, or None if it may."""
    problem = control_problem(value)
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
    problem = header_problem(value)
    if problem is not None:
        raise BadInput(f"{option}: contains {problem}; remove it and try again")
    return value.strip()


def quoted(text: str) -> str:
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
        name = quoted(self.name) if SPECIALS.search(self.name) else self.name
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
# forms), goes to email-validator, which also words every refusal.
# tests/test_address_fast_path.py holds this to email-validator's verdict on generated input.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_PLAIN_ADDR = compile_kept(
    rf"(?P<local>[{_ATEXT}]{{1,64}}(?:\.[{_ATEXT}]+)*)"
    r"@(?P<domain>(?:(?!-)(?![A-Za-z0-9-]*--)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{2,63})"
)
_PLAIN_NAME = compile_kept(rf"[ {_ATEXT}]*")
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
def check_addr(addr: str) -> tuple[str | None, str]:
    """Validate a bare addr-spec: (normalised address, "") or (None, the reason it is refused)."""
    plain = _plain_addr(addr)
    if plain is not None:
        return plain, ""
    return _validator_check(addr)


def _validator_check(addr: str) -> tuple[str | None, str]:
    """check_addr by email-validator alone."""
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
    email, reason = check_addr(addr)
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
    return Address(name=check_name(name, option), email=email)


def ascii_domain(domain: str, option: str) -> str:
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


def check_name(name: str, option: str) -> str:
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


def addr_spec(address: Address, header: str) -> str:
    """Re-validate an Address and return its addr-spec with the domain in punycode."""
    email = _validate_addr(check_header_value(address.email, header), header)
    local, _, domain = email.rpartition("@")
    return f"{local}@{ascii_domain(domain, header)}"


def envelope(email: str) -> str:
    """Return an address as SMTP MAIL FROM / RCPT TO carry it: validated, domain in punycode."""
    return addr_spec(Address(name="", email=email), "address")


# RFC 2047 5(3): the only characters an encoded word in a phrase may carry unencoded; using


def _scripts(text: str) -> set[str]:
    """The scripts of the letters in text (LATIN, CYRILLIC, GREEK, ...)."""
    import unicodedata

    found = set()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            found.add(name.split(" ", 1)[0] if name else "UNKNOWN")
    return found


def lookalike_warnings(address: Address) -> list[str]:
    """Warn of a name or domain that mixes scripts, as a disguised look-alike does."""
    warnings = []
    domain = address.email.rpartition("@")[2]
    mixed = [label for label in domain.split(".") if len(_scripts(label)) > 1]
    if mixed or (not domain.isascii() and len(_scripts(domain)) > 1):
        try:
            ascii_domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_domain = domain
        scripts = " and ".join(sorted(s.title() for s in _scripts(domain)))
        warnings.append(f"the domain {domain} mixes {scripts} letters, as look-alike addresses "
                        f"do; it goes to {ascii_domain}. Check it is the address you mean")
    name_scripts = _scripts(address.name)
    if len(name_scripts) > 1 and "LATIN" in name_scripts:
        scripts = " and ".join(sorted(s.title() for s in name_scripts))
        warnings.append(f"the name {address.name!r} mixes {scripts} letters; check it is the "
                        "person you mean")
    return warnings
