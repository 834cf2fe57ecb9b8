"""The guided flow: reflection, the fields one prompt at a time, a preview, and scheduling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import click

from draft_feedback import terminal
from draft_feedback.errors import BadInput

if TYPE_CHECKING:
    from draft_feedback.workflow import Catalog, Config, NewOptions, Outbox, Record, Rejection


class App(Protocol):
    """What the flow needs from the command line: the opened parts and the one clock."""

    @property
    def config(self) -> Config: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def outbox(self) -> Outbox: ...

    def now(self) -> datetime: ...


EDIT_HELP = "# Lines starting with # are ignored. Keep the Subject: line and one blank line.\n"


def run(app: App, options: NewOptions) -> Record:
    """The guided flow: reflection first, then the fields, a preview and scheduling."""
    from dataclasses import replace

    from draft_feedback.workflow import (
        check_address,
        check_detail,
        check_rejected,
        new_request,
        prepare,
    )

    catalog = app.catalog
    click.echo("Before the email, a few questions for you alone. Your answers stay on this "
               "machine,\nare never sent, and help choose what to ask. Press Enter to skip any.\n")
    answers = []
    for item in catalog.reflection:
        answer = click.prompt(item.question, default="", show_default=False).strip()
        answers.append((item.id, answer))
    click.echo("")
    scenario = click.prompt("Scenario", type=click.Choice(list(catalog.scenarios)),
                            default=catalog.scenario_aliases.get(
                                *[options.scenario or app.config.defaults.scenario] * 2))
    from_eml, prefill = _ask_rejection(app, options.from_eml)
    if prefill is not None and prefill.automated:
        click.echo(f"Note: {prefill.automated_reason}; there may be no person to ask. Give "
                   "a real person's address, or choose a thank-you only.")
    # Each answer is checked as it is typed, so a typo costs one prompt, not the whole flow.
    to_default = options.to or (prefill.to.formatted() if prefill and prefill.to else None)
    to = click.prompt("Whom to ask (Name <address>)", default=to_default,
                      value_proc=_checked(lambda text: check_address(text, "address")))
    org = click.prompt("Organisation", default=options.org or (prefill.org if prefill else ""),
                       show_default=bool(options.org or prefill),
                       value_proc=_checked(lambda text: check_detail(text, "organisation")))
    role = click.prompt("Position, promotion, manuscript or pitch",
                        default=options.role or (prefill.role if prefill else ""),
                        show_default=bool(options.role or prefill),
                        value_proc=_checked(lambda text: check_detail(text, "position")))
    rejected = click.prompt(
        "When did the rejection arrive (e.g. 2026-11-27T16:00; Enter for "
        + ("the email's date" if prefill else "now") + ")",
        default=options.rejected or "", show_default=False,
        value_proc=_checked(lambda text: text.strip() and check_rejected(
            text.strip(), app.config, app.now()))).strip() or None
    # A form rejection (no person behind it) makes a thank-you the likely choice.
    thank_you_only = (options.thank_you_only or catalog.scenario(scenario).thank_you_only
                      or click.confirm("Only say thank you, with no questions (for a form "
                                       "rejection)?",
                                       default=bool(prefill and prefill.automated)))
    areas: tuple[str, ...] = ()
    own: tuple[str, ...] = ()
    if not thank_you_only:
        offered = catalog.areas_for(scenario)
        suggested = [a.id for a in catalog.suggest(scenario, [a for _, a in answers])]
        limit = app.config.defaults.max_questions
        click.echo(f"\nWhat would help most? Choose up to {limit}:")
        for number, area in enumerate(offered, start=1):
            mark = "  (suggested by your answers)" if area.id in suggested else ""
            click.echo(f"  {number}. {area.label}{mark}")
        default = ",".join(str(offered.index(catalog.areas[a]) + 1)
                           for a in suggested[:limit])
        picked = click.prompt("Numbers, comma-separated (Enter for the usual ones)",
                              default=default, show_default=bool(default),
                              value_proc=_checked(
                                  lambda text: _pick_areas(text, offered, scenario, catalog,
                                                           limit)))
        # The usual ones are named here, so that adding an own question does not drop them.
        areas = tuple(_pick_areas(picked, offered, scenario, catalog, limit)
                      or catalog.scenario(scenario).default_areas[:limit])
        if len(areas) < limit:
            question = click.prompt("A question of your own (Enter to skip)", default="",
                                    show_default=False).strip()
            own = (question,) if question else ()
    highlight = click.prompt("Something specific you appreciated about the process "
                             "(Enter to skip)", default=options.highlight or "",
                             show_default=False).strip()
    tone = click.prompt("Tone", type=click.Choice(["warm", "formal", "brief"]),
                        default=options.tone or app.config.defaults.tone)
    future = click.confirm("Ask to be kept in mind for future opportunities?",
                           default=options.future)
    chosen = replace(options, scenario=scenario, to=to, org=org, role=role, rejected=rejected,
                     areas=areas, questions=own, highlight=highlight, tone=tone, future=future,
                     from_eml=from_eml, thank_you_only=thank_you_only, schedule=False, at=None,
                     reflection=tuple(answers))
    now = app.now()
    prepared = prepare(chosen, app.config, catalog, now)
    for note in prepared.notes:
        if not note.endswith("--thank-you-only."):  # the flow has said that already
            click.echo(f"Note: {note}")
    record = new_request(prepared.draft, prepared.origin, app.config, app.outbox, now,
                         catalog=catalog)
    try:
        return _review(app, record)
    except (click.Abort, KeyboardInterrupt):
        # Stored already: say where it stands, not "nothing was stored".
        raise StoppedAfterSave(app.outbox.get(record.id), app.config.timezone) from None


class StoppedAfterSave(click.Abort):
    """Ctrl-C after the request was stored: what there is, and the next step."""

    def __init__(self, record: Record, tz: Any) -> None:
        super().__init__()
        where = (f"queued for {terminal.when(record.send_at, tz)}"
                 if record.status == "scheduled" else "saved as a draft")
        self.note = f"Request {record.id} is {where}. " + terminal.next_step(
            record, _placeholder())


def _placeholder() -> str:
    from draft_feedback.workflow import SIGNATURE_PLACEHOLDER

    return SIGNATURE_PLACEHOLDER


def _review(app: App, record: Record) -> Record:
    """Show the stored request, offer to fix flagged wording, and offer to schedule it."""
    from draft_feedback.workflow import has_errors, schedule_request, send_time

    tz = app.config.timezone
    click.echo("\n" + terminal.render_record(record, tz, app.config.send_window) + "\n")
    if has_errors(record.findings):
        if click.confirm("Change the flagged wording in your editor now?", default=True):
            record = edit_in_editor(app, record.id)
            click.echo(terminal.format_findings(list(record.findings)))
        if has_errors(record.findings):
            return record
    if app.config.sender is None:
        click.echo("To queue it, add your name and address to the config "
                   "(`draft-feedback config init`), then `draft-feedback schedule "
                   f"{record.id}`.")
        return record
    when, _ = send_time(record, app.config, app.now(), None)
    if click.confirm(f"Schedule for {terminal.when(when, tz)}?", default=True):
        record = schedule_request(record.id, app.config, app.outbox, app.now())
    return record


def revise_in_editor(subject: str, body: str) -> tuple[str, str]:
    """Open subject and body in $EDITOR and return them as edited (unchanged if not saved)."""
    import os
    import sys

    if not (os.environ.get("VISUAL") or os.environ.get("EDITOR")) and not (
            sys.stdin.isatty() and sys.stdout.isatty()):
        # With no editor named, Click starts vi, which off a terminal waits for ever.
        raise BadInput("no editor to open: EDITOR is empty and there is no terminal; set "
                       "EDITOR (or VISUAL) to a command that edits a file and exits, or run "
                       "this on a terminal; nothing was changed")
    try:
        edited = click.edit(f"{EDIT_HELP}Subject: {subject}\n\n{body}", extension=".txt",
                            require_save=True)
    except UnicodeDecodeError:
        raise BadInput("the editor saved text that is not UTF-8; set it to save UTF-8 and try "
                       "again; nothing was changed") from None
    if edited is None:
        return subject, body
    lines = [line for line in edited.splitlines() if not line.startswith("#")]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not lines[0].lower().startswith("subject:"):
        raise BadInput("the first line must be 'Subject: ...'; nothing was changed")
    return lines[0].split(":", 1)[1], "\n".join(lines[1:])


def edit_in_editor(app: App, request_id: int) -> Record:
    """Open a stored request in $EDITOR; save it after the header and tone checks."""
    from draft_feedback.workflow import edit_request

    record = app.outbox.get(request_id)
    if record.status not in ("draft", "scheduled"):
        raise BadInput(f"request {request_id} is {record.status}; only a draft or a queued "
                       "request can be edited")
    subject, body = revise_in_editor(record.subject, record.body)
    if (subject, body) == (record.subject, record.body):
        click.echo("No change saved.", err=True)
        return record
    return edit_request(request_id, subject, body, app.config, app.outbox)


def _pick_areas(picked: str, offered: list[Any], scenario: str, catalog: Catalog,
                limit: int) -> list[str]:
    """Turn '1, 3' (or area ids) into area ids; a number or id not offered is BadInput."""
    chosen: list[str] = []
    for part in picked.replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part.isdigit():
            if not 1 <= int(part) <= len(offered):
                raise BadInput(f"{part} is not on the list; choose numbers from 1 to "
                               f"{len(offered)}")
            area_id = offered[int(part) - 1].id
        else:
            area_id = catalog.area(part, scenario).id
        if area_id not in chosen:
            chosen.append(area_id)
    if len(chosen) > limit:
        raise BadInput(f"{len(chosen)} chosen; choose at most {limit}")
    return chosen


def _checked(check: Callable[[str], Any]) -> Callable[[str], str]:
    """Wrap a check for click.prompt: BadInput makes Click show the error and ask again."""

    def value_proc(text: str) -> str:
        try:
            check(text)
        except BadInput as exc:
            raise click.UsageError(str(exc)) from None
        return text

    return value_proc


def _ask_rejection(app: App, given: str | None) -> tuple[str | None, Rejection | None]:
    """Read the rejection email given, or ask for one until it reads (Enter skips)."""
    from draft_feedback.workflow import read_rejection

    if given == "-":
        raise BadInput("--from-eml -: the guided flow reads your answers from standard input; "
                       "give the saved email's path instead")
    if given is not None:
        return given, read_rejection(given, app.catalog)
    while True:
        # A file dragged into a terminal arrives quoted.
        path = click.prompt("Saved rejection email (.eml) to prefill from (Enter to skip)",
                            default="", show_default=False).strip().strip("'\"")
        if not path:
            return None, None
        try:
            return path, read_rejection(path, app.catalog)
        except BadInput as exc:
            click.echo(f"Error: {exc}", err=True)
