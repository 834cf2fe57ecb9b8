"""Text for the terminal: local times, records, tone findings, and the outbox table."""

from __future__ import annotations

from datetime import datetime, tzinfo

from draft_feedback.patterns import compile_kept

# typing costs a cron tick more than this module's own code (tick.py): read by checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from draft_feedback.workflow import Record

HINTS = {
    "interrupted": "check your Sent folder; `draft-feedback retry {id}` if it did not go",
    "failed": "fix the cause shown by `show {id}`, then `draft-feedback retry {id}`",
    "draft": "`draft-feedback schedule {id}`",
    "held": ("the recipient wrote first; read it, then `draft-feedback schedule {id}` to send "
             "anyway or `draft-feedback cancel {id}`"),
}


def when(t: datetime | None, tz: tzinfo) -> str:
    """Return a time as 'Mon 2026-11-30 09:00 CET' in tz, or '-' when there is none."""
    if t is None:
        return "-"
    return t.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


def stamped(message: str, stream: Any, now: datetime) -> str:
    """Return a line as send-due prints it: off a terminal (cron, a log file), after the time."""
    if stream.isatty():
        return message
    return f"{now.astimezone().isoformat(timespec='seconds')} {message}"


def sent_total(sent: int, not_sent: int, waiting: int) -> str:
    """Return the last line of a send-due run: what was sent, what was not, what waits."""
    waits = f"; {waiting} due but waiting for the send window" if waiting else ""
    return f"{sent} sent, {not_sent} not sent{waits}."


def next_queued(upcoming: tuple[Record, datetime] | None, now: datetime, tz: tzinfo) -> str:
    """Say which queued request goes next and when, after a run that sent nothing."""
    if upcoming is None:
        return "Nothing is queued."
    record, at = upcoming
    if at <= now:  # a dry run, a failed try, or the send window is shut
        return f"Next: request {record.id}, due since {when(at, tz)}."
    return f"Next: request {record.id} at {when(at, tz)}."


def why(record: Record, window: Any, tz: tzinfo) -> str:
    """Say why a request goes when it does: the cooling-off, then the send window, if any."""
    earliest, send_at = record.earliest_send_at, record.send_at
    if send_at is None:
        return ""
    parts = [f"cooling-off until {when(earliest, tz)}"]
    if not record.window_applies:
        parts.append("the time you chose")
    elif window is None:
        parts.append("no send window")
    else:
        parts.append(f"send window {window.describe()} → {when(send_at, tz)}")
    return "; ".join(parts)


def has_errors(record: Record) -> bool:
    """True if the tone check found wording that blocks scheduling."""
    return any(f.get("severity") == "error" for f in record.findings)


def format_findings(findings: list[dict[str, Any]]) -> str:
    """Return the tone findings, one block each, or the line saying there are none."""
    if not findings:
        return "Tone check: no findings."
    lines = [f"Tone check: {len(findings)} finding(s)"]
    for f in findings:
        where = "subject" if f["line"] == 0 else f"line {f['line']}, column {f['column']}"
        lines.append(f"  {f['severity']}: {where} [{f['rule']}] \"{f['excerpt']}\"")
        lines.append(f"    {f['message']}")
        if f.get("suggestion"):
            lines.append(f"    Try: {f['suggestion']}")
    return "\n".join(lines)


# Escape sequences (CSI, OSC such as 0 for the window title and 52 for the clipboard, and the
# rest), C0 and C1 control characters but line feed and tab, and the bidi overrides that can
# make text read differently from what it is.
_CONTROLS = compile_kept(
    "\x1b\\][^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"  # OSC ... BEL or ST
    "|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"  # 8-bit OSC
    "|[\x1b\x9b]\\[?[0-?]*[ -/]*[@-~]?"  # CSI, and ESC with its next character
    "|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\\\|\x9c)?"  # DCS, SOS, PM, APC strings
    "|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe to print: nothing that came from outside may steer the terminal."""
    return _CONTROLS.sub("", text)


def render_record(record: Record, tz: tzinfo, window: Any, full: bool = False) -> str:
    """Return one request as the user reads it; full adds the reflection and the reply.

    A queued request says why it goes when it does (the cooling-off and `window`).
    """
    lines = [f"Request {record.id} ({record.status}, {record.scenario}, {record.tone})", ""]
    lines.append(f"To:      {record.to}")
    lines.append(f"Subject: {record.subject}")
    lines += ["", record.body.rstrip("\n"), ""]
    lines.append(format_findings(list(record.findings)))
    lines.append(f"Rejected:      {when(record.rejected_at, tz)}")
    lines.append(f"Earliest send: {when(record.earliest_send_at, tz)}")
    if record.send_at is not None:
        lines.append(f"Send at:       {when(record.send_at, tz)}")
        if record.status == "scheduled":
            lines.append(f"Why then:      {why(record, window, tz)}")
    if record.sent_at is not None:
        lines.append(f"Sent:          {when(record.sent_at, tz)}")
    if record.last_error:
        lines.append(f"Last error:    {record.last_error} (attempts: {record.attempts})")
    if record.held_reason:
        lines.append(f"Held:          {record.held_reason}")
    if record.parent_id is not None:
        lines.append(f"A {record.kind} to request {record.parent_id}")
    if full:
        if record.reflection:
            lines += ["", "Your reflection (private, never sent):"]
            for key, answer in record.reflection.items():
                lines.append(f"  {key}: {answer}")
        if record.reply:
            lines += ["", f"Reply (recorded {when(record.replied_at, tz)}):", record.reply]
        if record.takeaways:
            lines += ["", "Your takeaways (private, never sent):"]
            lines += [f"  {k}: {v}" for k, v in record.takeaways.items()]
    return printable("\n".join(lines))


def next_step(record: Record, placeholder: str) -> str:
    """Return the hint for what to do next with a request (empty when nothing is left)."""
    rid = record.id
    if record.status == "draft":
        if has_errors(record):
            return f"Next: change the flagged wording with `draft-feedback edit {rid}`."
        if placeholder in record.body:
            return ("Next: `draft-feedback config init` writes a config with your name and "
                    f"address; then `draft-feedback schedule {rid}` signs it (in place of "
                    f"{placeholder}) and queues it.")
        return (f"Next: `draft-feedback schedule {rid}` queues it for the earliest kind moment; "
                f"`draft-feedback edit {rid}` changes it.")
    if record.status == "scheduled":
        return ("Next: `draft-feedback send-due` (from cron) or `draft-feedback worker` sends it "
                "when its time comes.")
    return ""


def table(records: list[Record], tz: tzinfo, older: list[tuple[int, str]] | None = None,
          width: int | None = None) -> str:
    """Return the outbox table, columns aligned by display width, then what needs doing.

    With a terminal width, the subject (then the recipient) is cut so that no row wraps.
    """
    if not records:
        return "The outbox is empty. `draft-feedback new --help` shows how to draft a request."
    rows = [("ID", "STATUS", "SEND TIME", "TO", "ORG", "SUBJECT")]
    for r in records:
        # A request backing off after a failed try goes at its next try, not its first time.
        retry_later = r.status == "scheduled" and r.next_try_at is not None and (
            r.send_at is None or r.next_try_at > r.send_at)
        at = r.sent_at or (r.next_try_at if retry_later else r.send_at)
        rows.append((str(r.id), r.status, when(at, tz) if at else "-",
                     clip(printable(r.to), 36), clip(printable(r.org) or "-", 20),
                     clip(printable(r.subject), 50)))
    widths = [max(cells(row[i]) for row in rows) for i in range(5)]
    if width is not None:
        room = width - 1 - sum(widths) - 2 * 5  # five gaps before the subject
        if room < 12:  # too narrow for a useful subject: take it from the recipient
            to_width = max(12, widths[3] - (12 - room))
            rows = [(*row[:3], clip(row[3], to_width), *row[4:]) for row in rows]
            widths = [max(cells(row[i]) for row in rows) for i in range(5)]
            room = width - 1 - sum(widths) - 2 * 5
        rows = [(*row[:5], clip(row[5], max(room, 4))) for row in rows]
    out = ["  ".join(cell + " " * (widths[i] - cells(cell)) if i < 5 else cell
                     for i, cell in enumerate(row))
           for row in rows]
    attention = [*(older or []), *((r.id, r.status) for r in records
                                    if r.status in ("interrupted", "failed", "held"))]
    hints = [f"  {i}: {HINTS[s].format(id=i)}" for i, s in attention]
    hints += [f"  {r.id}: {r.problem}" for r in records if r.problem]
    if hints:
        out += ["", "To do:"] + hints
    return printable("\n".join(line.rstrip() for line in out))


def clip(text: str, columns: int) -> str:
    """Cut text to at most columns terminal cells, marking the cut with '…'."""
    if cells(text) <= columns:
        return text
    # A wide character (CJK, most emoji) takes two cells: cut by cells, not by characters.
    cut: list[str] = []
    used = 0
    for ch in text:
        used += cells(ch)
        if used > columns - 1:
            break
        cut.append(ch)
    return "".join(cut) + "…"


def cells(text: str) -> int:
    """Return the number of terminal cells text takes (wide characters take two)."""
    if text.isascii() and text.isprintable():
        return len(text)  # the common case: a cell a character, without loading wcwidth
    from wcwidth import wcswidth  # imported here: its import costs some 60 ms

    n = wcswidth(text)
    # -1 means a character with no defined width (a control character); count it as one.
    return n if n >= 0 else len(text)


def quiet_stdout() -> None:
    """Point stdout at nothing, so the flush at exit does not fail on a closed pipe again."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
