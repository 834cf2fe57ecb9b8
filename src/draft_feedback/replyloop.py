"""After the request: find replies, hold what should wait, thank, follow up once, review."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from draft_feedback.config import Config
from draft_feedback.errors import BadInput, Failure
from draft_feedback.outbox import NewRequest, Outbox, Record

if TYPE_CHECKING:
    from draft_feedback.catalog import Catalog
    from draft_feedback.incoming import Incoming
    from draft_feedback.mailbox import Mailbox
    from draft_feedback.sending import Outcome, Report

# Mailbox providers: a colleague's address there says nothing about the organisation.
_FREE_MAIL = frozenset("""gmail.com googlemail.com outlook.com hotmail.com live.com msn.com
    yahoo.com icloud.com me.com aol.com proton.me protonmail.com gmx.de gmx.net gmx.com web.de
    t-online.de""".split())
WATCHED = ("request", "follow-up")  # kinds a reply can answer and a hold can stop
# How long after the send the mailbox is searched for a reply; later ones: `reply ID FILE`.
WATCH_DAYS = timedelta(days=90)


@dataclass(frozen=True)
class Event:
    """One thing sync found, for the report."""

    request_id: int
    action: str  # replied, held, bounced, auto-reply, forward
    detail: str

    def to_json(self) -> dict[str, Any]:
        """Return the event as JSON."""
        return {"id": self.request_id, "action": self.action, "detail": self.detail}


@dataclass
class SyncReport:
    """What one sync found and changed."""

    events: list[Event] = field(default_factory=list)
    messages: int = 0  # headers fetched
    seconds: float = 0.0
    follow_ups: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON."""
        return {"events": [e.to_json() for e in self.events], "messages_read": self.messages,
                "seconds": round(self.seconds, 3), "follow_ups_queued": self.follow_ups}


class Watcher:
    """One IMAP session for a run, opened at first need; a failure is remembered, not retried."""

    def __init__(self, config: Config, password: Callable[[], str] | None = None) -> None:
        self.config = config
        self._password = password
        self._stack = ExitStack()
        self._mailbox: Mailbox | None = None
        self.error: str | None = None

    def mailbox(self) -> Mailbox:
        """Return the open mailbox, or raise the (remembered) failure."""
        from draft_feedback.mailbox import MailboxError, imap_password, open_mailbox

        if self.error is not None:
            raise MailboxError(self.error)
        if self._mailbox is None:
            try:
                token = None
                secret = None
                imap = self.config.imap
                if imap is not None and imap.oauth2_file:
                    from draft_feedback.sending import oauth2_token

                    token = oauth2_token(imap.oauth2_file, self.config.imap_user or "")
                else:
                    secret = self._password() if self._password else imap_password(self.config)
                self._mailbox = self._stack.enter_context(
                    open_mailbox(self.config, secret, token))
            except Failure as exc:
                self.error = str(exc)
                raise MailboxError(self.error) from None
        return self._mailbox

    def close(self) -> None:
        """Log out."""
        self._stack.close()
        self._mailbox = None


def _targets(outbox: Outbox, only: Iterable[Record] | None,
             now: datetime) -> tuple[list[Record], list[Record]]:
    if only is not None:
        records = list(only)
        sent = [r for r in records if r.status == "sent" and r.kind in WATCHED]
        queued = [r for r in records if r.status == "scheduled" and r.kind in WATCHED
                  and not r.hold_override]
        return sent, queued
    records = outbox.watched(now - WATCH_DAYS)
    sent = [r for r in records if r.status == "sent"]
    queued = [r for r in records if r.status == "scheduled"]
    return sent, queued


def _wire_address(addr: str) -> str:
    """The address as servers store it in headers: an international domain in punycode."""
    from draft_feedback.addresses import envelope

    try:
        return envelope(addr)
    except BadInput:
        return addr


def _domain(addr: str) -> str:
    return addr.rpartition("@")[2].lower()


def _answered(record: Record, outbox: Outbox) -> Record:
    """The request a reply to this message belongs to: a follow-up's parent, else itself."""
    if record.kind == "follow-up" and record.parent_id is not None:
        return outbox.get(record.parent_id)
    return record


def sync(outbox: Outbox, config: Config, watcher: Watcher, now: datetime,
         only: Iterable[Record] | None = None, connect: bool = True) -> SyncReport:
    """Read the mailbox (read-only): record replies and bounces, hold queued requests.

    With nothing to look for, the mailbox is still opened when `connect` (so `sync` proves the
    settings work), and not otherwise (a send-due tick with nothing out).
    """
    from draft_feedback.incoming import AUTO_REPLY, BOUNCE, FORWARD, parse_headers

    started = time.perf_counter()
    report = SyncReport()
    sent, queued = _targets(outbox, only, now)
    if not sent and not queued and not connect:
        return report
    mailbox = watcher.mailbox()
    if not sent and not queued:
        report.seconds = time.perf_counter() - started
        return report
    ours = {r.message_id: r for r in sent if r.message_id}
    rejection_ids: dict[str, list[Record]] = {}
    for r in queued:
        for thread_id in _rejection_ids(r):
            rejection_ids.setdefault(thread_id, []).append(r)
    since = min([r.sent_at for r in sent if r.sent_at] + [r.rejected_at for r in queued])
    senders = set()
    for r in (*sent, *queued):
        addr = _wire_address(r.to_addr)
        domain = _domain(addr)
        senders.add(addr.lower() if domain in _FREE_MAIL else "@" + domain)
    if sent:
        senders |= {"mailer-daemon@", "postmaster@"}
    uids = mailbox.thread_uids([*ours, *rejection_ids])
    uids |= mailbox.from_uids(senders, (since - timedelta(days=1)).date())
    me = config.sender.email.lower() if config.sender else ""
    incoming = [parse_headers(h.uid, h.header, h.received) for h in mailbox.headers(uids)]
    report.messages = len(incoming)
    for mail in sorted(incoming, key=lambda m: m.date):
        if mail.sender is not None and mail.sender.email.lower() == me:
            continue  # the user's own copy or a note to self
        if mail.kind == BOUNCE:
            _bounce(outbox, mailbox, mail, ours, report)
            continue
        for record in _replied_to(mail, sent, ours):
            if mail.kind in (AUTO_REPLY, FORWARD):
                report.events.append(Event(record.id, mail.kind, f"{mail.who}: {mail.detail} "
                                           "(not recorded as a reply)"))
                continue
            _record_reply(outbox, mailbox, mail, record, report, config)
        if mail.kind in (AUTO_REPLY, FORWARD):
            continue
        for record in _written_first(mail, queued, rejection_ids):
            reason = (f"{mail.who} wrote on {_local(mail.date, config)}: "
                      f"{mail.subject[:80]!r}")
            if outbox.hold(record.id, reason):
                report.events.append(Event(record.id, "held", reason))
    report.seconds = time.perf_counter() - started
    return report


def _local(t: datetime, config: Config) -> str:
    return t.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M %Z")


def _rejection_ids(record: Record) -> list[str]:
    ids = [record.in_reply_to] if record.in_reply_to else []
    if record.kind == "follow-up" and record.in_reply_to:
        return ids  # the follow-up threads under our own request
    return ids


def _replied_to(mail: Incoming, sent: list[Record], ours: dict[str, Record]) -> list[Record]:
    """The sent requests this message answers: by thread ids, else by address and subject."""
    from draft_feedback.incoming import normalised_subject

    threaded = [ours[i] for i in mail.thread_ids if i in ours]
    if threaded:
        return [threaded[-1]]
    if mail.sender is None:
        return []
    subject = normalised_subject(mail.subject)
    out = []
    sender = _wire_address(mail.sender.email).lower()
    for r in sent:
        to_addr = _wire_address(r.to_addr).lower()
        same_person = sender == to_addr
        colleague = _domain(sender) == _domain(to_addr) and _domain(to_addr) not in _FREE_MAIL
        # Date headers carry whole seconds and other machines' clocks: allow a little slack.
        if (same_person or colleague) and r.sent_at is not None \
                and mail.date >= r.sent_at - timedelta(minutes=10) \
                and subject and subject == normalised_subject(r.subject):
            out.append(r)
    return out[-1:]


def _written_first(mail: Incoming, queued: list[Record],
                   rejection_ids: dict[str, list[Record]]) -> list[Record]:
    """Queued requests whose recipient wrote after the rejection, in its thread or directly."""
    out: dict[int, Record] = {}
    for thread_id in mail.thread_ids:
        for r in rejection_ids.get(thread_id, []):
            if mail.date > r.rejected_at:
                out[r.id] = r
    if mail.sender is not None:
        sender = _wire_address(mail.sender.email).lower()
        for r in queued:
            if sender == _wire_address(r.to_addr).lower() and mail.date > r.rejected_at:
                out[r.id] = r
    return list(out.values())


def _record_reply(outbox: Outbox, mailbox: Mailbox, mail: Incoming, record: Record,
                  report: SyncReport, config: Config) -> None:
    from draft_feedback.incoming import (
        body_text,
        clip_reply,
        is_forward,
        parse_message,
        strip_quoted,
    )

    target = _answered(record, outbox)
    if target.status != "sent":
        return
    text = body_text(parse_message(mailbox.message(mail.uid)))
    if is_forward(text):
        report.events.append(Event(target.id, "forward", f"{mail.who} forwarded the thread "
                                   "(not recorded as a reply)"))
        return
    own = clip_reply(strip_quoted(text), "your mailbox") or (
        "(no text of their own; the reply only quoted the thread)")
    stored = f"From: {mail.who}\nDate: {mail.date.isoformat()}\nSubject: {mail.subject}\n\n{own}\n"
    if outbox.record_found_reply(target.id, stored, mail.date, mail.message_id,
                                 mail.sender.formatted() if mail.sender else None):
        report.events.append(Event(target.id, "replied", f"{mail.who} on "
                                   f"{_local(mail.date, config)}"))
        reason = f"{mail.who} replied on {_local(mail.date, config)}"
        for child_id in hold_follow_ups(outbox, target.id, reason):
            report.events.append(Event(child_id, "held", reason))


def _bounce(outbox: Outbox, mailbox: Mailbox, mail: Incoming, ours: dict[str, Record],
            report: SyncReport) -> None:
    from draft_feedback.incoming import bounce_mentions

    named, diagnostic = bounce_mentions(mailbox.message(mail.uid), set(ours))
    for message_id in named:
        record = ours[message_id]
        why = f"the message bounced: {diagnostic or mail.subject or 'undeliverable'}"
        if outbox.mark_bounced(record.id, why):
            report.events.append(Event(record.id, "bounced", why))


def hold_follow_ups(outbox: Outbox, parent_id: int, reason: str) -> list[int]:
    """Hold the queued follow-up of a request that has been answered."""
    return [child.id for child in outbox.children_of_kind(parent_id, "follow-up")
            if child.status == "scheduled" and outbox.hold(child.id, reason)]


def hold_check(outbox: Outbox, config: Config, watcher: Watcher | None, now: datetime,
               record: Record) -> Outcome | None:
    """Just before a claim: None to send, or why not (held, or the mailbox could not be read)."""
    from draft_feedback.mailbox import MailboxError
    from draft_feedback.sending import Outcome

    if record.kind not in WATCHED or record.hold_override:
        return None  # a thank-you answers their reply; a confirmed send goes anyway
    related = [record]
    if record.kind == "follow-up" and record.parent_id is not None:
        parent = outbox.get(record.parent_id)
        if parent.status != "sent":
            reason = f"request {parent.id} is {parent.status}; a follow-up goes only unanswered"
            outbox.hold(record.id, reason)
            return Outcome(record.id, "held", reason)
        related.append(parent)
    if watcher is None:
        return None  # no mailbox to read: the recorded replies are all there is to go by
    try:
        sync(outbox, config, watcher, now, only=related)
    except MailboxError as exc:
        return Outcome(record.id, "scheduled", f"the mailbox could not be checked for a reply "
                                               f"first: {exc}")
    current = outbox.get(record.id)
    if current.status == "held":
        return Outcome(record.id, "held", current.held_reason or "")
    return None


# --- follow-ups -----------------------------------------------------------------------------


def queue_follow_ups(outbox: Outbox, config: Config, now: datetime) -> list[int]:
    """Make the one follow-up of each sent, unanswered request whose day has come."""
    made = []
    for record in outbox.wanting_follow_up():
        if record.follow_up_at is None or record.follow_up_at > now:
            continue
        made_id = _follow_up(outbox, config, record, now)
        if made_id is not None:
            made.append(made_id)
    return made


def _follow_up(outbox: Outbox, config: Config, parent: Record, now: datetime) -> int | None:
    from draft_feedback.addresses import cap_subject
    from draft_feedback.message import make_message_id
    from draft_feedback.timing import into_window
    from draft_feedback.workflow import check_request, has_errors

    subject, body = render_note("follow_up.txt.j2", parent, config, tone=parent.tone)
    subject = cap_subject("Re: " + _bare_subject(parent.subject))
    findings = check_request(subject, body, config)
    refs = " ".join(x for x in ((parent.references or parent.in_reply_to or ""),
                                parent.message_id or "") if x).split()
    record = outbox.add_follow_up(NewRequest(
        scenario=parent.scenario, tone=parent.tone, to_name=parent.to_name,
        to_addr=parent.to_addr, org=parent.org, role=parent.role, areas=(), questions=(),
        highlight="", future=parent.future, thank_you_only=True, subject=subject, body=body,
        findings=tuple(findings), tz=config.timezone.key, rejected_at=parent.rejected_at,
        earliest_send_at=now, created_at=now,
        message_id=make_message_id(config.sender.address.domain) if config.sender else None,
        in_reply_to=parent.message_id, references=" ".join(dict.fromkeys(refs[-20:])) or None,
        kind="follow-up", parent_id=parent.id))
    if record is None:
        return None
    if has_errors(findings) or config.sender is None:
        return record.id  # stays a draft: the user's template needs a look
    outbox.schedule(record.id, into_window(now, config.send_window), True)
    return record.id


def _bare_subject(subject: str) -> str:
    import re

    return re.sub(r"^(?:\s*re\s*:\s*)+", "", subject, flags=re.I)


def render_note(template: str, parent: Record, config: Config, *, tone: str,
                form_answer: bool = False, to_name: str | None = None) -> tuple[str, str]:
    """Render a thank-you or follow-up body in the sandbox; the subject threads the parent."""
    from draft_feedback.drafting import environment, first_name, render_template, signature_for

    name = parent.to_name if to_name is None else to_name
    ctx = {
        "scenario": parent.scenario, "tone": tone, "recipient_name": name,
        "recipient_first": first_name(name), "org": parent.org, "role": parent.role,
        "form_answer": form_answer, "signature": signature_for(config),
        "sender_name": config.sender.name if config.sender else "",
    }
    body = render_template(environment(config), template, ctx)
    body = "\n".join(line.rstrip() for line in body.strip("\n").splitlines()) + "\n"
    return parent.subject, body


# --- thank-you ------------------------------------------------------------------------------


def thank(request_id: int, outbox: Outbox, config: Config, now: datetime, *,
          schedule: bool = False, at: datetime | None = None,
          tone: str | None = None, confirm: Callable[[str], bool] | None = None) -> Record:
    """Draft (and queue) a short thank-you to the reply of a replied request, threaded under it.

    An --at outside the send window is kept only if confirm() says yes.
    """
    from draft_feedback.addresses import cap_subject, parse_address
    from draft_feedback.incoming import is_form_answer
    from draft_feedback.message import make_message_id
    from draft_feedback.timing import into_window
    from draft_feedback.workflow import check_request, confirm_chosen_time, has_errors

    if schedule and at is not None:
        raise BadInput("--schedule and --at: choose one")
    parent = outbox.get(request_id)
    if parent.kind != "request":
        raise BadInput(f"request {request_id} is a {parent.kind}; thank the reply to the "
                       f"request itself (`draft-feedback show {parent.parent_id}`)")
    if parent.status != "replied":
        raise BadInput(f"request {request_id} is {parent.status}; a thank-you answers a reply, "
                       f"so record it first (`draft-feedback sync`, or `draft-feedback reply "
                       f"{request_id} FILE`)")
    for child in outbox.children_of_kind(request_id, "thank-you"):
        if child.status != "cancelled":
            raise BadInput(f"request {request_id} already has thank-you {child.id} "
                           f"({child.status}); `draft-feedback show {child.id}` shows it")
    to_name, to_addr = parent.to_name, parent.to_addr
    if parent.reply_from:
        try:
            who = parse_address(parent.reply_from, "reply sender")
            to_name, to_addr = who.name, who.email  # thank the colleague who answered
        except BadInput:
            pass
    chosen_tone = tone or parent.tone
    _, body = render_note("thank_reply.txt.j2", parent, config, tone=chosen_tone,
                          form_answer=is_form_answer(parent.reply or ""), to_name=to_name)
    subject = cap_subject("Re: " + _bare_subject(parent.subject))
    findings = check_request(subject, body, config)
    thread = parent.reply_message_id or parent.message_id
    refs = [*((parent.references or "").split()), *(x for x in (parent.message_id,
                                                                 parent.reply_message_id) if x)]
    if at is not None and at < now:
        raise BadInput(f"--at: {at.isoformat()} is in the past; give a later time, or use "
                       "--schedule for the next opening of the send window")
    if at is not None:
        confirm_chosen_time(at, config, now, confirm)
    record = outbox.add(NewRequest(
        scenario=parent.scenario, tone=chosen_tone, to_name=to_name, to_addr=to_addr,
        org=parent.org, role=parent.role, areas=(), questions=(), highlight="",
        future=parent.future, thank_you_only=True, subject=subject, body=body,
        findings=tuple(findings), tz=config.timezone.key, rejected_at=parent.rejected_at,
        earliest_send_at=now, created_at=now,
        message_id=make_message_id(config.sender.address.domain) if config.sender else None,
        in_reply_to=thread, references=" ".join(list(dict.fromkeys(refs))[-20:]) or None,
        kind="thank-you", parent_id=parent.id))
    if not (schedule or at is not None):
        return record
    if config.sender is None:
        raise BadInput(f"{config.source}: no sender configured, so nothing can be queued")
    if has_errors(findings):
        raise Failure(f"thank-you {record.id} was saved as a draft, but the tone check found "
                      f"wording to change; `draft-feedback edit {record.id}`, then "
                      f"`draft-feedback schedule {record.id}`")
    if at is not None:
        return outbox.schedule(record.id, at, False)
    return outbox.schedule(record.id, into_window(now, config.send_window), True)


# --- reflect and review ---------------------------------------------------------------------

def reflect(request_id: int, answers: dict[str, str], outbox: Outbox, now: datetime) -> Record:
    """Keep the user's private takeaways from a reply with the request; never sent."""
    record = outbox.get(request_id)
    if record.status != "replied":
        raise BadInput(f"request {request_id} is {record.status}; reflecting needs a reply "
                       "(`draft-feedback sync`, or `draft-feedback reply ID FILE`)")
    clean = {k: " ".join(v.split())[:1000] for k, v in answers.items() if v and v.strip()}
    if not clean:
        raise BadInput("no answers given; nothing was stored")
    clean["recorded_at"] = now.isoformat(timespec="seconds")
    return outbox.set_takeaways(request_id, clean)


@dataclass(frozen=True)
class Review:
    """The journey so far, for `review`."""

    by_status: dict[str, int]
    sent: int
    replied: int
    reply_rate: float | None
    median_reply_days: float | None
    areas: list[tuple[str, int]]
    themes: list[tuple[str, int]]
    next_steps: list[tuple[int, str]]
    waiting: list[tuple[int, str, str]]  # id, status, what it waits for

    def to_json(self) -> dict[str, Any]:
        """Return the review as JSON."""
        return {
            "by_status": self.by_status, "sent": self.sent, "replied": self.replied,
            "reply_rate": self.reply_rate, "median_reply_days": self.median_reply_days,
            "areas": [{"area": a, "count": n} for a, n in self.areas],
            "themes": [{"theme": t, "count": n} for t, n in self.themes],
            "next_steps": [{"id": i, "next_step": s} for i, s in self.next_steps],
            "waiting": [{"id": i, "status": s, "detail": d} for i, s, d in self.waiting],
        }


def review(outbox: Outbox, catalog: Catalog, config: Config, now: datetime) -> Review:
    """Summarise requests, replies, what was asked, what came back and what is waiting."""
    from collections import Counter
    from statistics import median

    records = [r for r in outbox.records() if r.kind == "request"]
    by_status = Counter(r.status for r in records)
    sent = [r for r in records if r.sent_at is not None]
    replied = [r for r in sent if r.status == "replied" and r.replied_at is not None]
    delays = [(r.replied_at - r.sent_at).total_seconds() / 86400 for r in replied
              if r.replied_at is not None and r.sent_at is not None]
    areas: Counter[str] = Counter()
    for r in records:
        for area_id in r.areas:
            try:
                areas[catalog.area(area_id, r.scenario).label] += 1
            except BadInput:
                areas[area_id] += 1
    themes: Counter[str] = Counter()
    for r in replied:
        text = (r.reply or "").partition("\n\n")[2] or (r.reply or "")
        for area in catalog.suggest(r.scenario, [text]):
            themes[area.label] += 1
    steps = [(r.id, str(r.takeaways["next_step"])) for r in records
             if r.takeaways and r.takeaways.get("next_step")]
    waiting: list[tuple[int, str, str]] = []
    for r in outbox.records():
        if r.status in ("draft", "scheduled", "held", "interrupted", "failed"):
            detail = {"draft": "to review and schedule",
                      "scheduled": f"goes {_local(r.send_at, config)}" if r.send_at else "",
                      "held": r.held_reason or "held",
                      "interrupted": "check your Sent folder, then retry",
                      "failed": r.last_error or "failed"}[r.status]
            waiting.append((r.id, r.status, f"{r.kind} to {r.to}: {detail}"))
        elif r.status == "sent" and r.kind == "request" and r.sent_at is not None:
            days = (now - r.sent_at).days
            waiting.append((r.id, "sent", f"to {r.to}: no reply yet ({days} days)"))
        elif r.status == "replied" and r.kind == "request" and not r.takeaways:
            waiting.append((r.id, "replied", f"from {r.to}: reflect on it "
                            f"(`draft-feedback reflect {r.id}`)"))
    return Review(
        by_status=dict(sorted(by_status.items())), sent=len(sent), replied=len(replied),
        reply_rate=round(len(replied) / len(sent), 3) if sent else None,
        median_reply_days=round(median(delays), 1) if delays else None,
        areas=areas.most_common(), themes=themes.most_common(), next_steps=steps,
        waiting=waiting)


def send_due_checked(outbox: Outbox, config: Config, *, clock: Callable[[], datetime],
                     limit: int | None = None, dry_run: bool = False,
                     stop: Callable[[], bool] = lambda: False) -> Report:
    """send-due with the reply loop: read the mailbox, queue follow-ups, check before claims.

    An IMAP failure is a note in the report: requests that need no check still go, and the
    ones that do stay queued.
    """
    from draft_feedback.sending import send_due

    now = clock()
    if dry_run:
        return send_due(outbox, config, clock=clock, limit=limit, dry_run=True, stop=stop)
    watcher = Watcher(config) if config.imap is not None else None
    notes: list[str] = []
    try:
        if watcher is not None:
            from draft_feedback.mailbox import MailboxError  # its socket is for IMAP alone

            try:
                found = sync(outbox, config, watcher, now, connect=False)
                notes += [f"request {e.request_id}: {e.action} ({e.detail})"
                          for e in found.events]
            except MailboxError as exc:
                notes.append(f"the mailbox was not read: {exc}")
        queue_follow_ups(outbox, config, now)
        report = send_due(outbox, config, clock=clock, limit=limit, stop=stop,
                          before_claim=lambda r: hold_check(outbox, config, watcher, clock(), r))
    finally:
        if watcher is not None:
            watcher.close()
    report.notes[:0] = notes
    return report
