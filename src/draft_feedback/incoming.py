"""Reading mail that came in: rejection emails and replies, thread ids, automated senders."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from draft_feedback.addresses import (
    MAX_MSG_ID_CHARS,
    MAX_NAME_CHARS,
    MSG_ID,
    Address,
    cap_subject,
    check_addr,
    control_problem,
    header_problem,
)
from draft_feedback.errors import BadInput
from draft_feedback.patterns import compile_kept

if TYPE_CHECKING:  # the email package is imported lazily at run time to keep start-up fast
    from email.message import EmailMessage

    from publicsuffixlist import PublicSuffixList

_MAX_REFERENCES = 20
_WSP = compile_kept(r"[ \t]+")


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
    to_header: str = "From"  # the header the recipient was taken from


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
    # "Interview update: Staff Engineer"
    r"^(?:interview|application|candidacy)\s+(?:update|outcome|decision|feedback)\s*:\s*"
    r"(?P<role>.+)$",
    # "Backend Engineer (Payments) – final round": a title, a dash, then the stage
    r"^(?P<role>[^:]+?)\s+[-–—|]\s+(?:the\s+)?(?:(?:final|first|second|third|last|"
    r"technical|onsite|on-site|panel|phone|video|hiring)\s+)?(?:round|interviews?|onsite|"
    r"on-site|screen|stage|loop)\b",
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
    problem = control_problem(value) if encoded else header_problem(value)
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
        email, why = check_addr(addr)
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
    # The public suffix list knows where the registrable name is (acme.co.uk, acme.com.au,
    # city.kawasaki.jp); a name under a suffix it does not know (.example) is the last-but-one.
    registrable = _public_suffix().privatesuffix(".".join(labels))
    if not registrable:
        return ""  # the domain is itself a public suffix (co.uk): no organisation in it
    name = registrable.split(".")[0]
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", name) if part)


@functools.cache
def _public_suffix() -> PublicSuffixList:
    """Return the public suffix matcher on the list the package ships: no download, no cache."""
    # Imported here: only reading a rejection email needs it. publicsuffixlist reads the copy
    # of the list bundled in the package and has no dependencies (about 15 ms to import, where
    # tldextract pulls in requests for about 300 ms).
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


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


_BLOCKS = frozenset(
    "p div li tr table ul ol h1 h2 h3 h4 h5 h6 blockquote section article header footer "
    "pre hr dl dt dd".split()
)
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})


def _html_to_text(html: str) -> str:
    """Convert HTML to readable plain text: blocks become lines, scripts and styles vanish."""
    # lxml (libxml2's HTML parser) reads broken markup the way browsers roughly do, decodes
    # every entity, and never fetches anything; imported here to keep start-up fast.
    from lxml import etree
    from lxml import html as lxml_html

    # huge_tree lifts libxml2's nesting limit from 256 to 2048 levels, so text inside deeply
    # nested layout tables is kept; the input is already capped (workflow.MAX_INPUT_BYTES).
    parser = lxml_html.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True,
                                  huge_tree=True)
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):  # an empty or wholly unreadable document
        return ""

    def text(value: str | None) -> str:  # HTML collapses whitespace; a no-break space too
        return re.sub(r"\s+", " ", value.replace("\u00a0", " ")) if value else ""

    parts: list[str] = []
    skipping = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _HIDDEN:
                skipping += 1
            elif not skipping:
                if tag == "br" or tag in _BLOCKS:
                    parts.append("\n")
                if tag:  # a processing instruction's text is not content
                    parts.append(text(element.text))
            continue
        if tag in _HIDDEN:
            skipping -= 1
        elif not skipping and tag in _BLOCKS:
            parts.append("\n")
        if not skipping and element is not root:
            parts.append(text(element.tail))
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
    try:
        # "31 Dec 9999 23:59:59 -2359" is past the last instant Python can hold in UTC.
        utc = when.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_DATE <= utc <= datetime(9000, 1, 1, tzinfo=UTC):
        shown = raw["date"][0].strip()[:80]
        raise BadInput(f"{source}: the Date header ('{shown}') is not a plausible date; give "
                       "the time with --rejected")
    return when


EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=UTC)


def _thread_ids(raw: dict[str, list[str]], source: str) -> tuple[str | None, str | None]:
    """Return the original Message-ID and the References a reply to it should carry."""
    message_id: str | None = None
    if "message-id" in raw:
        value = _file_value(raw["message-id"][0], source, "Message-ID")
        found = MSG_ID.search(value)
        if found and len(found.group(0)) <= MAX_MSG_ID_CHARS:
            message_id = found.group(0)
        elif value and " " not in value and "@" in value:
            # Some mailers omit the angle brackets; threading still works once they are added.
            candidate = f"<{value.strip('<>')}>"
            if MSG_ID.fullmatch(candidate) and len(candidate) <= MAX_MSG_ID_CHARS:
                message_id = candidate
    chain: list[str] = []
    for header in ("references", "in-reply-to"):
        if header in raw:
            value = _file_value(" ".join(raw[header]), source, header.title())
            chain = [i for i in MSG_ID.findall(value) if len(i) <= MAX_MSG_ID_CHARS]
            if chain:
                break
    if message_id:
        chain.append(message_id)
    unique = list(dict.fromkeys(chain))
    if len(unique) > _MAX_REFERENCES:
        # Keep the thread's root and the most recent ids, as RFC 5322 3.6.4 readers expect.
        unique = unique[:1] + unique[-(_MAX_REFERENCES - 1) :]
    return message_id, (" ".join(unique) or None)


MAX_REPLY_CHARS = 100_000  # what a reply keeps: far more than anyone writes by hand


def clip_reply(text: str, where: str) -> str:
    """Keep the first MAX_REPLY_CHARS of a reply, and say where the rest is."""
    if len(text) <= MAX_REPLY_CHARS:
        return text
    end = "\n" if text.endswith("\n") else ""
    return (text[:MAX_REPLY_CHARS].rstrip() + f"\n\n[The reply goes on for another "
            f"{len(text) - MAX_REPLY_CHARS:,} characters; the whole of it is in {where}.]{end}")


# Real header sections, long Received and DKIM chains included, stay far below this; one that
# does not (a 400 KB Subject) took the email package seconds to unfold and decode.
MAX_HEADER_BYTES = 256 * 1024
MAX_HEADER_FIELD_BYTES = 64 * 1024  # a References line of a long thread fits


def _check_header_size(data: bytes, source: str) -> None:
    """Refuse an oversized header section or field before the email package parses it."""
    import re

    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0),
              default=len(data))
    for field in re.finditer(rb"(?m)^[!-9;-~]+:(?:[^\n]*\n[ \t])*[^\n]*", data[:end]):
        if len(field.group()) > MAX_HEADER_FIELD_BYTES:
            name = field.group().split(b":", 1)[0].decode("ascii", "replace")
            raise BadInput(f"{source}: the {name} header is longer than "
                           f"{MAX_HEADER_FIELD_BYTES // 1024} KiB; save the rejection again "
                           "from your mail client, or give the details with --to, --org and "
                           "--rejected")
    if end > MAX_HEADER_BYTES:
        raise BadInput(f"{source}: the email's headers are larger than "
                       f"{MAX_HEADER_BYTES // 1024} KiB, which no ordinary email has; save the "
                       "rejection again from your mail client, or give the details with --to, "
                       "--org and --rejected")


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

    _check_header_size(data, source)
    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
        return _parse_rejection(msg, source, automated_domains=automated_domains,
                                automated_local_parts=automated_local_parts,
                                automated_phrases=automated_phrases)
    except RecursionError:
        # A multipart nested thousands deep: the email package recurses once a level.
        raise BadInput(f"{source}: the email is nested too deeply to read (parts within "
                       "parts); save the rejection again from your mail client, or give the "
                       "details with --to, --org and --rejected") from None


def _parse_rejection(
    msg: EmailMessage,
    source: str,
    *,
    automated_domains: Iterable[str],
    automated_local_parts: Iterable[str],
    automated_phrases: Iterable[str],
) -> Rejection:
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
        to_header="Reply-To" if to is not None and to in replies and all(
            to.email.lower() != a.email.lower() for a in senders) else "From",
    )


# --- reading replies to our requests --------------------------------------------------------

_MSG_ID = compile_kept(r"<[^<>\s\"\\]{1,250}>")
_MAX_IDS = 50  # a References header longer than this is someone's joke; keep its ends
_MAX_HEADER_CHARS = 4000
_MAX_RAW_CHARS = 1_000_000  # a thread id list this long is an attack; the ends are kept below

REPLY, AUTO_REPLY, BOUNCE, FORWARD = "reply", "auto-reply", "bounce", "forward"

_AUTO_SUBJECT = compile_kept(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|"
    r"autoreply|abwesenheit|abwesend|away from (?:the office|my desk)|on (?:vacation|holiday|leave)"
    r"|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|automatisch antwoord)",
    re.I)
_BOUNCE_SUBJECT = compile_kept(
    r"(?:undeliver(?:able|ed)|delivery (?:status notification|has failed|failure)|"
    r"returned mail|mail delivery (?:failed|subsystem)|failure notice|"
    r"non[- ]?delivery|unzustellbar)", re.I)
_BOUNCE_LOCALS = ("mailer-daemon", "postmaster", "mail-daemon")
_FORWARD_SUBJECT = compile_kept(r"^\s*(?:fwd?|wg|tr|enc|rv)\s*:", re.I)
_FORWARD_MARKER = compile_kept(
    r"^(?:-{3,}\s*forwarded message\s*-{3,}|begin forwarded message:|"
    r"-{3,}\s*weitergeleitete nachricht\s*-{3,}|-{3,}\s*message transféré\s*-{3,})", re.I | re.M)

# Where quoted history starts: the first of these lines, and everything after it, is theirs-before.
_HISTORY_STARTS = (
    compile_kept(r"^on\b.{0,200}\bwrote\s*:\s*$", re.I),
    compile_kept(r"^am\b.{0,200}\bschrieb\b.{0,200}:\s*$", re.I),
    compile_kept(r"^le\b.{0,200}\ba écrit\s*:\s*$", re.I),
    compile_kept(r"^el\b.{0,200}\bescribió\s*:\s*$", re.I),
    compile_kept(r"^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine)"
                 r"\s*-{2,}\s*$", re.I),
    compile_kept(r"^_{10,}\s*$"),
    compile_kept(r"^-{3,}\s*forwarded message\s*-{3,}\s*$", re.I),
    compile_kept(r"^begin forwarded message:\s*$", re.I),
)
_HEADER_BLOCK = compile_kept(r"^\*?(?:from|von|de)\s*:\*?\s", re.I)
_HEADER_NEXT = compile_kept(r"^\*?(?:sent|date|gesendet|envoyé|to|an|à|subject|betreff|objet)\s*:",
                            re.I)
_SIGN_OFFS = compile_kept(r"^(?:sent from my \w+|get outlook for \w+)", re.I)

_FORM_PHRASES = compile_kept(
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

    from draft_feedback.addresses import check_header_value, parse_address

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
    return _body_text(msg)


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
