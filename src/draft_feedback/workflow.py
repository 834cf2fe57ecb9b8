"""What each command does, as plain functions of config, catalog, outbox and `now`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from draft_feedback.config import Config
from draft_feedback.errors import BadInput, Failure
from draft_feedback.outbox import NewRequest, Outbox, Record
from draft_feedback.patterns import compile_kept
from draft_feedback.timing import check_requested, earliest_send, pick_send_time

if TYPE_CHECKING:  # catalog and drafting are imported where used: list and send-due skip them
    from draft_feedback.addresses import Address
    from draft_feedback.catalog import Catalog
    from draft_feedback.drafting import DraftInput
    from draft_feedback.sending import Report
    from draft_feedback.tone import Finding, Rule


def __getattr__(name: str) -> Any:
    """Hand out the names of catalog and drafting that the commands take from here, on use."""
    if name in ("Catalog", "load_catalog"):
        from draft_feedback import catalog

        return getattr(catalog, name)
    if name in ("DraftInput", "SIGNATURE_PLACEHOLDER", "render"):
        from draft_feedback import drafting

        return getattr(drafting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Origin:
    """Where the request comes from: the rejection's time and, from an .eml, its thread."""

    rejected_at: datetime
    in_reply_to: str | None = None
    references: str | None = None
    reflection: dict[str, str] = field(default_factory=dict)
    follow_up: bool | None = None  # --follow-up / --no-follow-up; None: follow_up.after_days


DEFAULT_FOLLOW_UP_DAYS = 10  # --follow-up without follow_up.after_days in the config


def follow_up_days(config: Config, chosen: bool | None) -> int | None:
    """Days after the send for the one follow-up, or None for none (the default)."""
    if chosen is None:
        return config.follow_up_days
    return (config.follow_up_days or DEFAULT_FOLLOW_UP_DAYS) if chosen else None


def rules_for(config: Config) -> tuple[Rule, ...]:
    """Return the tone rules: built-in minus tone.disable plus tone.rules."""
    from draft_feedback.tone import load_rules

    return load_rules(config.tone.rules, config.tone.disable, source=f"{config.source}: tone")


def check_text(text: str, config: Config) -> list[Finding]:
    """Tone-check any text with the configured rules and limits."""
    from draft_feedback.tone import check

    return check(text, rules_for(config), max_questions=config.defaults.max_questions)


def check_request(subject: str, body: str, config: Config) -> list[dict[str, Any]]:
    """Tone-check a request (subject and body) and return the findings as JSON-ready dicts."""
    findings = check_text(body, config)
    subject_findings = [f for f in check_text(subject, config) if f.trap != "length"]
    # Subject findings are reported on line 0, so they cannot be mistaken for body lines.
    out = [dict(f.to_dict(), line=0) for f in subject_findings]
    return out + [f.to_dict() for f in findings]


def has_errors(findings: Sequence[dict[str, Any]]) -> bool:
    """True if any finding blocks scheduling."""
    return any(f.get("severity") == "error" for f in findings)


def cooling_off_hours(config: Config, catalog: Catalog, scenario: str) -> int:
    """Return a scenario's cooling-off: the config's for it, else max(built-in's, global)."""
    for override in config.scenarios:
        if override.id == scenario and override.cooling_off_hours is not None:
            return override.cooling_off_hours  # the user chose it for this scenario
    own = catalog.scenario(scenario).cooling_off_hours
    return max(own, config.cooling_off_hours) if own else config.cooling_off_hours


def new_request(inp: DraftInput, origin: Origin, config: Config, outbox: Outbox,
                now: datetime, *, schedule: bool = False, at: datetime | None = None,
                catalog: Catalog | None = None,
                revise: Callable[[str, str], tuple[str, str]] | None = None,
                confirm: Confirm | None = None) -> Record:
    """Render, optionally revise, check and store a request; queue it when asked.

    An --at in the past or outside the send window is kept only if confirm() says yes.
    """
    from draft_feedback.catalog import load_catalog
    from draft_feedback.drafting import render
    from draft_feedback.message import make_message_id

    catalog = catalog or load_catalog(config)
    draft = render(inp, config, catalog)
    if revise is not None:
        subject, body = revise(draft.subject, draft.body)
        subject, body = clean_edit(subject, body)
        draft = replace(draft, subject=subject, body=body)
    findings = check_request(draft.subject, draft.body, config)
    hours = cooling_off_hours(config, catalog, inp.scenario)
    earliest = earliest_send(origin.rejected_at, hours)
    queue = schedule or at is not None
    if queue:
        _ready_to_queue(config)
        if at is not None:
            check_requested(at, earliest)
            confirm_chosen_time(at, config, now, confirm)
    record = outbox.add(NewRequest(
        scenario=inp.scenario,
        tone=inp.tone,
        to_name=inp.to.name,
        to_addr=inp.to.email,
        org=inp.org,
        role=inp.role,
        areas=inp.areas,
        questions=draft.questions,
        highlight=inp.highlight,
        future=inp.future,
        thank_you_only=draft.thank_you_only,
        subject=draft.subject,
        body=draft.body,
        findings=tuple(findings),
        tz=config.timezone.key,
        rejected_at=origin.rejected_at,
        earliest_send_at=earliest,
        created_at=now,
        message_id=make_message_id(config.sender.address.domain) if config.sender else None,
        in_reply_to=origin.in_reply_to,
        references=origin.references,
        reflection=dict(origin.reflection),
        follow_up_days=follow_up_days(config, origin.follow_up),
    ))
    if queue and not has_errors(findings):
        return schedule_request(record.id, config, outbox, now, at=at, confirm=_yes)
    return record


Confirm = Callable[[str], bool]  # asked "<time> is outside your send window ..." -> go ahead?


def _yes(_: str) -> bool:
    return True


def unusual_time(at: datetime, config: Config, now: datetime) -> str | None:
    """Say why a chosen send time needs a second look: it is past, or the window is shut."""
    from draft_feedback.terminal import when

    shown = when(at, config.timezone)
    if at < now:
        return f"{shown} is in the past, so it would go at the next send-due run"
    window = config.send_window
    if window is None or window.contains(at):
        return None
    holiday = window.holiday(at)
    return (f"{shown} is outside your send window ({window.describe()})"
            + (f": {holiday}" if holiday else ""))


def confirm_chosen_time(at: datetime, config: Config, now: datetime,
                        confirm: Confirm | None) -> None:
    """Refuse an --at in the past or outside the send window unless confirm() agrees to it."""
    reason = unusual_time(at, config, now)
    if reason is None or (confirm is not None and confirm(reason)):
        return
    raise BadInput(f"--at: {reason}; nothing was changed. Choose another --at, leave --at out "
                   "to send at the earliest allowed time, or add --force to send then anyway.")


def _ready_to_queue(config: Config) -> None:
    if config.sender is None:
        raise BadInput(f"{config.source}: no sender configured, so nothing can be queued; add "
                       "sender: {name: Your Name, email: you@example.com} (`draft-feedback "
                       "config init` writes an example)")


def send_time(record: Record, config: Config, now: datetime,
              at: datetime | None) -> tuple[datetime, bool]:
    """Return when to send and whether the send window still applies to that time."""
    if at is not None:
        return check_requested(at, record.earliest_send_at), False
    earliest = record.earliest_send_at
    return pick_send_time(record.rejected_at, _hours(record, earliest), config.send_window,
                          now), True


def _hours(record: Record, earliest: datetime) -> int:
    return round((earliest - record.rejected_at).total_seconds() / 3600)


def schedule_request(request_id: int, config: Config, outbox: Outbox, now: datetime, *,
                     at: datetime | None = None,
                     notify: Callable[[str], None] | None = None,
                     confirm: Confirm | None = None) -> Record:
    """Queue a draft, or move a queued one, never before its cooling-off ends.

    A draft saved before a sender was configured is signed first; notify() is told so. An
    --at in the past or outside the send window is kept only if confirm() says yes.
    """
    from draft_feedback.drafting import SIGNATURE_PLACEHOLDER

    _ready_to_queue(config)
    record = outbox.get(request_id)
    if record.status not in ("draft", "scheduled", "held"):
        raise BadInput(f"request {request_id} is {record.status}; only a draft, a queued or a "
                       "held request can be scheduled" + (
                           f" (use `draft-feedback retry {request_id}`)"
                           if record.status in ("failed", "interrupted") else ""))
    when, window_applies = send_time(record, config, now, at)
    if at is not None:
        confirm_chosen_time(at, config, now, confirm)
    if SIGNATURE_PLACEHOLDER in record.body and not has_errors(record.findings):
        record = _sign(record, config, outbox, notify)
    if SIGNATURE_PLACEHOLDER in record.body:
        raise BadInput(f"request {request_id} is signed {SIGNATURE_PLACEHOLDER!r}; set "
                       "sender.name in the config, then `draft-feedback edit "
                       f"{request_id}` to sign it")
    if has_errors(record.findings):
        raise Failure(f"request {request_id} was saved as a draft, but the tone check found "
                      "wording that could hurt you; change it with `draft-feedback edit "
                      f"{request_id}`, then `draft-feedback schedule {request_id}`")
    if record.message_id is None and config.sender is not None:
        from draft_feedback.message import make_message_id

        outbox.set_message_id(request_id, make_message_id(config.sender.address.domain))
    return outbox.schedule(request_id, when, window_applies)


def _sign(record: Record, config: Config, outbox: Outbox,
          notify: Callable[[str], None] | None) -> Record:
    """Sign a draft written before there was a sender, and check its wording again."""
    from draft_feedback.drafting import sign

    body = sign(record.body, config)
    if body is None:
        return record
    findings = check_request(record.subject, body, config)
    signed = outbox.edit(record.id, record.subject, body, findings, blocked=has_errors(findings))
    if notify is not None and config.sender is not None:
        notify(f"Request {record.id} was saved before a sender was configured; it is now "
               f"signed as {config.sender.name or config.sender.email} (`draft-feedback show "
               f"{record.id}` shows it).")
    return signed


def edit_request(request_id: int, subject: str, body: str, config: Config,
                 outbox: Outbox) -> Record:
    """Replace subject and body after the same header and tone checks as `new`."""
    subject, body = clean_edit(subject, body)
    findings = check_request(subject, body, config)
    return outbox.edit(request_id, subject, body, findings, blocked=has_errors(findings))


MAX_BODY_CHARS = 100_000  # the most a template may render, too


def clean_edit(subject: str, body: str) -> tuple[str, str]:
    """Check an edited subject and body as `new` would; BadInput if they cannot be used."""
    from draft_feedback.addresses import cap_subject, check_header_value

    if len(subject.strip()) > MAX_BODY_CHARS:
        raise BadInput(f"the subject is {len(subject.strip()):,} characters; keep it to one "
                       "short line; nothing was changed")
    subject = check_header_value(" ".join(subject.split()), "Subject")
    if not subject:
        raise BadInput("the subject is empty; keep a 'Subject: ...' line at the top")
    subject = cap_subject(subject)
    if len(body) > MAX_BODY_CHARS:
        # The tone check and the header checks are not built for megabytes; nor is an email
        # to someone who owes you nothing.
        raise BadInput(f"the body is {len(body):,} characters; a request is a short email, keep "
                       f"it under {MAX_BODY_CHARS:,}; nothing was changed")
    body = "\n".join(line.rstrip() for line in body.strip("\n").splitlines()) + "\n"
    if not body.strip():
        raise BadInput("the body is empty; nothing was changed")
    return subject, body


def next_due(outbox: Outbox) -> tuple[Record, datetime] | None:
    """Return the queued request that goes next, and when (its send time or its next try)."""
    return outbox.next_queued()


def retry_request(request_id: int, outbox: Outbox, now: datetime) -> Record:
    """Queue an interrupted or failed request again, now or when its cooling-off ends."""
    record = outbox.get(request_id)
    return outbox.retry(request_id, max(now, record.earliest_send_at))


@dataclass(frozen=True)
class NewOptions:
    """The options of `new` as typed, before validation."""

    scenario: str | None = None
    to: str | None = None
    org: str | None = None
    role: str | None = None
    rejected: str | None = None
    areas: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    highlight: str | None = None
    future: bool = True
    tone: str | None = None
    from_eml: str | None = None
    schedule: bool = False
    at: str | None = None
    thank_you_only: bool = False
    reflection: tuple[tuple[str, str], ...] = ()
    again: bool = False  # --again: a request to someone already asked is meant
    follow_up: bool | None = None  # --follow-up / --no-follow-up
    context: str | None = None  # mentor: what happened, or the feedback received so far


@dataclass(frozen=True)
class Prepared:
    """Validated input for a new request, and what the rejection email said."""

    draft: DraftInput
    origin: Origin
    at: datetime | None
    rejection: Rejection | None
    notes: tuple[str, ...] = ()  # what the user should know before it is stored


if TYPE_CHECKING:
    from draft_feedback.incoming import Rejection


# Far above any real email (providers cap messages at 25-50 MB, base64 included); the cap is
# what stops `--from-eml /dev/zero` or a mistyped disk image from being read for ever.
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_input(source: str, what: str, stdin: Any = None) -> bytes:
    """Read a file, or standard input for '-', as bytes; a missing file is BadInput."""
    import sys

    limit = MAX_INPUT_BYTES
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin
        data = stream.buffer.read(limit + 1) if hasattr(stream, "buffer") else stream.read(
            limit + 1)
        data = data.encode("utf-8") if isinstance(data, str) else data
    else:
        try:
            with Path(source).expanduser().open("rb") as handle:
                data = handle.read(limit + 1)
        except IsADirectoryError:
            raise BadInput(f"{what}: {source} is a folder; give the saved file") from None
        except OSError as exc:
            raise BadInput(f"{what}: cannot read {source}: {exc.strerror}") from None
    if len(data) > limit:
        raise BadInput(f"{what}: {source} is larger than {limit // 1024} KiB; give the saved "
                       "email or text itself")
    return data


def read_rejection(source: str, catalog: Catalog) -> Rejection:
    """Parse a saved rejection email, marking senders the catalog knows as automated."""
    from draft_feedback.incoming import parse_rejection

    data = read_input(source, "--from-eml")
    auto = catalog.automated
    return parse_rejection(data, "<stdin>" if source == "-" else source,
                           automated_domains=auto.domains,
                           automated_local_parts=auto.local_parts or (
                               "noreply", "no-reply", "donotreply"),
                           automated_phrases=auto.phrases or ("do not reply",))


def parse_at(text: str | None, config: Config, now: datetime) -> datetime | None:
    """Parse --at: a date alone means the opening of the send window that day."""
    from datetime import time

    from draft_feedback.timing import parse_when

    if text is None:
        return None
    window = config.send_window
    opening = window.start if window is not None else time(9)
    # A date alone means the window's opening that day, on the window's clock, not the user's.
    zone = window.tz if window is not None and _DATE_ONLY.fullmatch(text.strip()) else (
        config.timezone)
    return parse_when(text, zone, option="--at", now=now, date_time=opening)


_DATE_ONLY = compile_kept(r"\d{4}-\d{2}-\d{2}")


MAX_DETAIL_CHARS = 300  # organisation, role, highlight, one question


def prepare(options: NewOptions, config: Config, catalog: Catalog, now: datetime) -> Prepared:
    """Validate every option of `new` (and the .eml) before anything is stored."""
    from draft_feedback.addresses import Address, check_header_value, parse_address
    from draft_feedback.drafting import DraftInput
    from draft_feedback.timing import parse_when

    if options.schedule and options.at is not None:
        raise BadInput("--schedule and --at: choose one (--at WHEN, or --schedule for the "
                       "earliest allowed time)")
    rejection = read_rejection(options.from_eml, catalog) if options.from_eml else None
    scenario = catalog.scenario(options.scenario or config.defaults.scenario).id
    if options.to is not None:
        to = parse_address(options.to, "--to")
    elif rejection is not None and rejection.to is not None:
        to = rejection.to
    elif rejection is not None and rejection.automated and options.thank_you_only:
        raise BadInput(f"--to: {rejection.automated_reason}, so even a thank-you would reach "
                       'nobody; give --to "Name <name@example.com>" for a real person (a '
                       "recruiter or the hiring manager) to thank")
    elif rejection is not None and rejection.automated:
        raise BadInput(f"--to: {rejection.automated_reason}, so there may be no person to ask; "
                       'give --to "Name <name@example.com>" for a real person (a recruiter or '
                       "the hiring manager), and add --thank-you-only for a short thank-you "
                       "with no questions")
    else:
        raise BadInput('--to: whom should the request go to? give --to "Name <name@example.com>"'
                       + (" (the rejection email has no usable sender)" if rejection else ""))
    org = check_header_value(options.org if options.org is not None else (
        rejection.org if rejection else ""), "--org")
    role = check_header_value(options.role if options.role is not None else (
        rejection.role if rejection else ""), "--role")
    highlight = check_header_value(options.highlight or "", "--highlight")
    questions = tuple(check_header_value(q, "--question") for q in options.questions)
    if any(not q for q in questions):
        raise BadInput("--question: a question is empty; write it out or leave the option off")
    # The mentor hears the feedback so far: --context, else the private reflection's answer.
    given = dict(options.reflection).get("feedback-given", "") if scenario == "mentor" else ""
    context = check_header_value(options.context if options.context is not None else (
        "" if given.strip().lower().rstrip(".") in ("", "none", "no", "nothing", "n/a")
        else given), "--context")
    for option, value in (("--org", org), ("--role", role), ("--highlight", highlight),
                          ("--context", context), *(("--question", q) for q in questions)):
        # Refused here, naming the option, rather than as an oversized template render later.
        if len(value) > MAX_DETAIL_CHARS:
            raise BadInput(f"{option}: {len(value):,} characters is too long for a short email; "
                           f"keep it to {MAX_DETAIL_CHARS} or fewer")
    if options.rejected is not None:
        rejected_at = parse_when(options.rejected, config.timezone, option="--rejected",
                                 now=now, allow_future=False)
    elif rejection is not None:
        rejected_at = rejection.received_at.astimezone(config.timezone)
        if rejected_at > now:
            raise BadInput(f"--from-eml: the rejection is dated {rejected_at.isoformat()}, in "
                           "the future; give the real time with --rejected")
    else:
        rejected_at = now.astimezone(config.timezone)
    tone = options.tone or config.defaults.tone
    thank_you_only = options.thank_you_only
    notes: list[str] = []
    # Only the sender of the rejection email has it: anyone else gets a thread of their own.
    fresh_thread = rejection is not None and (
        rejection.to is None or rejection.to.email.lower() != to.email.lower())
    if rejection is not None and fresh_thread:
        notes.append(f"{to.email} did not send the rejection email, so the request starts a "
                     "new thread with its own subject rather than replying to "
                     f"\"{rejection.subject or 'the rejection'}\".")
    elif rejection is not None and rejection.automated:
        notes.append(f"{rejection.automated_reason}. There may be no person to read a "
                     "request: give --to a real person's address, or use --thank-you-only.")
    if thank_you_only and (options.areas or options.questions):
        raise BadInput("--thank-you-only asks no questions; leave out --ask and --question")
    if catalog.scenario(scenario).thank_you_only and (options.areas or options.questions):
        raise BadInput(f"--scenario: {scenario} is thank-you only (thank_you_only in the "
                       "config), so it asks no questions; leave out --ask and --question, or "
                       "choose another scenario")
    draft = DraftInput(
        scenario=scenario,
        to=Address(to.name, to.email),
        org=org,
        role=role,
        areas=tuple(options.areas),
        questions=questions,
        highlight=highlight,
        future=options.future,
        tone=tone,
        thank_you_only=thank_you_only,
        subject=rejection.reply_subject if rejection is not None and not fresh_thread else None,
        context=context,
    )
    threaded = rejection is not None and not fresh_thread
    origin = Origin(
        rejected_at=rejected_at,
        in_reply_to=rejection.message_id if rejection and threaded else None,
        references=rejection.references if rejection and threaded else None,
        reflection={k: v for k, v in options.reflection if v.strip()},
        follow_up=options.follow_up,
    )
    return Prepared(draft, origin, parse_at(options.at, config, now), rejection, tuple(notes))


# The note names the latest few of the earlier requests and counts the rest.
NAMED_EARLIER = 3


def asked_before(prepared: Prepared, options: NewOptions, outbox: Outbox,
                 interactive: bool) -> str | None:
    """Warn of an earlier request to the same person or rejection; refuse to queue blind.

    On a terminal, and for a draft, the warning is shown and `new` goes on; queueing from a
    script (--schedule or --at off a terminal) is refused until --again confirms it.
    """
    if options.again or not outbox.path.exists():
        return None  # nothing asked yet: and a first `new` must not create the outbox early
    # The rejection email's own id: a request to someone else starts a fresh thread, yet it
    # answers the same rejection.
    rejection_id = (prepared.rejection.message_id if prepared.rejection is not None
                    else prepared.origin.in_reply_to)
    earlier = earlier_requests(outbox, prepared.draft.to.email, rejection_id)
    if not earlier:
        return None
    named = ", ".join(f"request {i} ({status})" for i, status in earlier[-NAMED_EARLIER:])
    if len(earlier) > NAMED_EARLIER:
        more = len(earlier) - NAMED_EARLIER
        named += f" and {more} earlier request{'s' if more > 1 else ''}"
    if (options.schedule or options.at is not None) and not interactive:
        raise BadInput(f"--again: {prepared.draft.to.email} was already asked: {named}; "
                       f"`draft-feedback show {earlier[-1][0]}` shows it. Add --again to send "
                       "another request anyway; nothing was stored")
    return (f"Note: {prepared.draft.to.email} was already asked: {named}. This one is "
            "saved too; add --again to confirm such a request without this note.")


def earlier_requests(outbox: Outbox, to_addr: str,
                     rejection_id: str | None) -> list[tuple[int, str]]:
    """(id, status) of the requests already made to this address, or answering the same
    rejection email, oldest first."""
    statuses = ("draft", "scheduled", "held", "sending", "sent", "replied", "interrupted")
    return outbox.asked(to_addr, rejection_id, statuses)


def record_reply(request_id: int, source: str, outbox: Outbox, now: datetime) -> Record:
    """Store the reply that came back: plain text, or the text of a saved .eml."""
    # Refuse before reading: `reply 7 -` on a draft must not sit waiting for standard input.
    status = outbox.get(request_id).status
    if status not in ("sent", "replied"):
        raise BadInput(f"request {request_id} is {status}; a reply can be recorded once the "
                       "request is sent (`draft-feedback list` shows where it stands)")
    data = read_input(source, "FILE")
    text = reply_text(data, source)
    if not text.strip():
        raise BadInput(f"{source}: the reply is empty; nothing was recorded")
    from draft_feedback.incoming import clip_reply

    text = clip_reply(text, "the text you gave" if source == "-" else source)
    record = outbox.record_reply(request_id, text, now)
    from draft_feedback.replyloop import hold_follow_ups

    hold_follow_ups(outbox, request_id, "a reply was recorded with `draft-feedback reply`")
    return record


def reply_text(data: bytes, source: str) -> str:
    """Return the text of a reply: an email's body (with who and when), or the text itself."""
    head = data[:2048].decode("utf-8", "replace")
    looks_like_mail = any(head.lower().startswith(h) or f"\n{h}" in head.lower()
                          for h in ("from:", "date:", "received:", "return-path:"))
    if looks_like_mail:
        from draft_feedback.incoming import parse_rejection

        try:
            mail = parse_rejection(data, source)
        except BadInput:
            pass
        else:
            who = mail.to.formatted() if mail.to else "unknown sender"
            when = mail.received_at.isoformat()
            return f"From: {who}\nDate: {when}\n\n{mail.body_text.strip()}\n"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{source}: not UTF-8 text or an email; save the reply as .eml or "
                       "plain text") from None


# --- doors for the command line and the guided flow ---------------------------------------------
# The front end imports this module and nothing below it; each door is thin and imports what
# it needs when called, so a command pays only for the parts it uses.


def open_config(option: str | None) -> Config:
    """Return the validated config at --config (or its default place)."""
    from draft_feedback.config import config_path, load_config

    return load_config(config_path(option))


def open_outbox(home_option: str | None) -> Outbox:
    """Return the outbox in the data folder at --home (or its default place)."""
    from draft_feedback.config import home_dir

    return Outbox(home_dir(home_option))


def check_address(text: str, option: str) -> Address:
    """Parse one address typed by the user, or raise BadInput naming option."""
    from draft_feedback.addresses import parse_address

    return parse_address(text, option)


def check_detail(text: str, option: str) -> str:
    """Refuse text that could not go into a header; return it stripped."""
    from draft_feedback.addresses import check_header_value

    return check_header_value(text, option)


def check_rejected(text: str, config: Config, now: datetime) -> datetime:
    """Read the time a rejection arrived, as typed (never in the future)."""
    from draft_feedback.timing import parse_when

    return parse_when(text, config.timezone, option="time", now=now, allow_future=False)


@dataclass(frozen=True)
class Page:
    """One page of the outbox for `list`: the records, how many are hidden, older problems."""

    records: list[Record]
    hidden: int
    older: list[tuple[int, str]]


def list_page(outbox: Outbox, status: str | None, page: int | None, now: datetime) -> Page:
    """Return the newest page of requests (all when page is None), oldest first."""
    outbox.expire_claims(now)
    # One row more than the page tells whether there are more, without counting every time.
    records = outbox.records(status=status, limit=None if page is None else page + 1)
    hidden = 0
    if page is not None and len(records) > page:
        records = records[1:]
        hidden = outbox.count(status) - page
    older = [(i, s) for i, s in outbox.needing_attention(records[0].id)
             if status in (None, s)] if hidden else []
    return Page(records, hidden, older)


def cancel_request(request_id: int, outbox: Outbox) -> Record:
    """Stop a draft or queued request; it stays in the history."""
    return outbox.cancel(request_id)


def eml_for(record: Record, config: Config, now: datetime) -> bytes:
    """Return the exact message that was sent, or that would be sent at its time."""
    from draft_feedback.sending import build_eml

    if record.eml is not None and record.status not in ("draft", "scheduled"):
        return record.eml
    if record.message_id is None:
        raise BadInput(f"request {record.id} has no Message-ID yet because no sender is "
                       "configured; add sender to the config and schedule it")
    return build_eml(record, config, record.send_at or now)


def send_due(outbox: Outbox, config: Config, *, clock: Callable[[], datetime],
             limit: int | None = None, dry_run: bool = False) -> Report:
    """Send every queued request whose time has come; with imap, check for replies first."""
    from draft_feedback.replyloop import send_due_checked

    return send_due_checked(outbox, config, clock=clock, limit=limit, dry_run=dry_run)


def run_worker(outbox: Outbox, config: Config, *, clock: Callable[[], datetime],
               interval: float, on_report: Callable[[Report], None],
               on_error: Callable[[str], None]) -> int:
    """Run send-due in a loop until SIGINT or SIGTERM; return the exit code."""
    from draft_feedback.replyloop import send_due_checked
    from draft_feedback.sending import run_worker as loop

    return loop(outbox, config, clock=clock, interval=interval, on_report=on_report,
                on_error=on_error, run=send_due_checked)


def template_names(config: Config) -> list[tuple[str, str]]:
    """Return (name, where) for every template, built-in and the user's own."""
    from draft_feedback.drafting import template_names as names

    return names(config)


def template_text(config: Config, name: str) -> str:
    """Return a template's text: the user's copy if there is one, else the built-in."""
    from draft_feedback.drafting import template_path

    return template_path(config, name).read_text(encoding="utf-8")


def copy_template(config: Config, name: str, force: bool) -> Path:
    """Copy a built-in template into the user's templates folder; return the copy."""
    from draft_feedback.drafting import copy_template as copy

    return copy(config, name, force)


def write_config(option: str | None, name: str, email: str, timezone: str,
                 provider: str | None, force: bool) -> Path:
    """Write a first config at --config (or its default place): the user's identity and
    provider, every other key commented out."""
    from draft_feedback.config import config_path
    from draft_feedback.presets import initial_config, write_initial_config

    return write_initial_config(config_path(option),
                                initial_config(name, email, timezone, provider), force)


@dataclass(frozen=True)
class Paths:
    """Where this installation keeps its files."""

    config: Path
    data: Path
    outbox: Path
    templates: Path


def paths(config_option: str | None, home_option: str | None, config: Config) -> Paths:
    """Return the config file, data folder, outbox and templates folder."""
    from draft_feedback.config import config_path, home_dir
    from draft_feedback.drafting import template_dirs

    home = home_dir(home_option)
    return Paths(config_path(config_option), home, home / "outbox.sqlite3",
                 template_dirs(config)[0])


def smtp_user(config: Config, user: str | None, imap: bool = False) -> str:
    """Return the login: --user, else smtp.user (imap.user with imap) or sender.email."""
    from draft_feedback.addresses import check_header_value

    name = user or (config.imap_user if imap else config.smtp_user)
    if not name:
        raise BadInput("--user: which account? give --user EMAIL, or set smtp.user or "
                       "sender.email in the config")
    return check_header_value(name, "--user")


def store_password(user: str, secret: str, allow_insecure: bool = False,
                   imap: bool = False) -> str:
    """Keep the SMTP (or, with imap, the IMAP) password in the keyring; return where it went."""
    from draft_feedback.credentials import IMAP_SERVICE, SERVICE
    from draft_feedback.credentials import store_password as store

    return store(user, secret, allow_insecure, IMAP_SERVICE if imap else SERVICE)


def delete_password(user: str, imap: bool = False) -> bool:
    """Remove the SMTP (or IMAP) password from the keyring; False if none was stored."""
    from draft_feedback.credentials import IMAP_SERVICE, SERVICE
    from draft_feedback.credentials import delete_password as delete

    return delete(user, IMAP_SERVICE if imap else SERVICE)


# --- after the request: the reply loop (replyloop.py does the work) ----------------------------


def sync_mailbox(outbox: Outbox, config: Config, now: datetime) -> SyncReport:
    """Read the mailbox once: record replies and bounces, hold requests, queue follow-ups."""
    from draft_feedback.replyloop import Watcher, queue_follow_ups, sync

    if config.imap is None:
        raise BadInput(f"{config.source}: no imap section, so there is no mailbox to read; add "
                       "imap: {host: imap.example.com} (see config.example.yaml)")
    watcher = Watcher(config)
    try:
        report = sync(outbox, config, watcher, now)
    finally:
        watcher.close()
    report.follow_ups = queue_follow_ups(outbox, config, now)
    return report


def thank_reply(request_id: int, outbox: Outbox, config: Config, now: datetime, *,
                schedule: bool = False, at: datetime | None = None,
                tone: str | None = None, confirm: Confirm | None = None) -> Record:
    """Draft (and queue) the thank-you to a request's reply."""
    from draft_feedback.replyloop import thank

    return thank(request_id, outbox, config, now, schedule=schedule, at=at, tone=tone,
                 confirm=confirm)


def reflect_on_reply(request_id: int, answers: dict[str, str], outbox: Outbox,
                     now: datetime) -> Record:
    """Keep the user's takeaways from a reply."""
    from draft_feedback.replyloop import reflect

    return reflect(request_id, answers, outbox, now)


def review_journey(outbox: Outbox, catalog: Catalog, config: Config, now: datetime) -> Review:
    """Summarise the journey for `review`."""
    from draft_feedback.replyloop import review

    return review(outbox, catalog, config, now)


if TYPE_CHECKING:
    from draft_feedback.replyloop import Review, SyncReport

REFLECT_QUESTIONS = (
    ("resonates", "Which points resonate with you?"),
    ("not_for_me", "Which points do not, and why is that fine?"),
    ("nudged_to_develop", "What skill does this nudge you to develop?"),
    ("next_step", "One concrete next step (small enough to start this week):"),
)
