"""The Click group and its commands: parse, call one function, print; nothing else."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from draft_feedback import __version__, terminal
from draft_feedback.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    BadInput,
    DraftFeedbackError,
    Failure,
)

# Every command pays for what this module imports, so json, pathlib and the rest are imported
# where they are used (click itself brings datetime and typing).
if TYPE_CHECKING:
    from collections.abc import Callable

    from click.shell_completion import CompletionItem

    from draft_feedback.workflow import Catalog, Config, Outbox, Record

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
STATES = ("draft", "scheduled", "sending", "sent", "failed", "cancelled", "interrupted",
          "replied", "held")  # as outbox.STATES, kept here so that --help need not import it
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
LIST_PAGE = 50  # `list` shows the newest this many unless told otherwise
LARGEST_ID = 2**63 - 1  # SQLite's largest integer
LIST_MOST = 10**9  # a --limit above this shows everything, as it would anyway


class RequestId(click.ParamType):
    """A request id: a whole number from 1, as `list` shows them."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not text.isascii() or not text.isdigit():
                self.fail(f"{value!r} is not a request id; ids are whole numbers such as 7 "
                          "(`draft-feedback list` shows them)", param, ctx)
            number = int(text)
        if not 1 <= number <= LARGEST_ID:
            self.fail(f"no request has the id {value}; ids are whole numbers from 1 "
                      "(`draft-feedback list` shows them)", param, ctx)
        return number


REQUEST_ID = RequestId()
# The ids of draft_feedback.presets.PROVIDERS, here so that --help need not import it.
PROVIDER_IDS = ("gmail", "outlook", "fastmail", "icloud", "proton-bridge", "relay")


def utcnow() -> datetime:
    """The one clock of the command line; policy code receives `now` from here."""
    return datetime.now(UTC)


class App:
    """What every command needs, opened lazily so that --help stays fast."""

    def __init__(self, config_path: str | None, home: str | None) -> None:
        self.config_option = config_path
        self.home_option = home
        self._config: Config | None = None
        self._catalog: Catalog | None = None
        self._outbox: Outbox | None = None

    @property
    def config(self) -> Config:
        """Return the validated config."""
        if self._config is None:
            from draft_feedback.workflow import open_config

            self._config = open_config(self.config_option)
        return self._config

    @property
    def catalog(self) -> Catalog:
        """Return the catalog merged with the config."""
        if self._catalog is None:
            from draft_feedback.workflow import load_catalog

            self._catalog = load_catalog(self.config)
        return self._catalog

    @property
    def outbox(self) -> Outbox:
        """Return the outbox in the data folder."""
        if self._outbox is None:
            from draft_feedback.workflow import open_outbox

            self._outbox = open_outbox(self.home_option)
        return self._outbox

    def now(self) -> datetime:
        """Return now, from the one clock of the command line."""
        return utcnow()

    def now_local(self) -> datetime:
        """Return now in the configured timezone."""
        return utcnow().astimezone(self.config.timezone)


pass_app = click.make_pass_decorator(App)


class Group(click.Group):
    """A Click group that turns our errors into messages and exit codes, never traces."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating library errors in the one place that knows Click."""
        try:
            return super().invoke(ctx)
        except DraftFeedbackError as exc:
            raise _Exit(str(exc), exc.exit_code) from None
        except BrokenPipeError:
            # The reader (head, true) left: not an error, and nothing more to say to it.
            terminal.quiet_stdout()
            raise click.exceptions.Exit(0) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit,
                KeyboardInterrupt, EOFError):
            raise
        except Exception as exc:
            if os.environ.get("DRAFT_FEEDBACK_DEBUG"):
                raise
            raise _Exit(f"unexpected {type(exc).__name__}: {exc}. Nothing else was changed; "
                        "please report this with the command you ran", EXIT_FAILURE) from None


class _Exit(click.ClickException):
    """A library error on its way to the terminal."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.option("--config", "config_path", metavar="PATH", envvar="DRAFT_FEEDBACK_CONFIG",
              help="Config file (env DRAFT_FEEDBACK_CONFIG).")
@click.option("--home", metavar="DIR", envvar="DRAFT_FEEDBACK_HOME",
              help="Data folder holding the outbox (env DRAFT_FEEDBACK_HOME).")
@click.version_option(__version__, "--version", prog_name="draft-feedback")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, home: str | None) -> None:
    """Ask for feedback after a rejection: kindly, specifically, and not too soon.

    Drafts a short, positively framed feedback request, checks its tone, and keeps it in a
    local outbox that sends it only after a cooling-off delay counted from the rejection.

    \b
    Example:
      draft-feedback new --to "Priya Shah <priya@example.com>" --org Acme \\
          --role "Data Analyst" --rejected 2026-11-27T16:00 --ask interview-system-design
      draft-feedback schedule 1
      draft-feedback list
    """
    ctx.obj = App(config_path, home)
    if ctx.invoked_subcommand is None:
        if _interactive():
            ctx.invoke(new, guided=True)
        else:
            click.echo(ctx.get_help())


# --- shell completion: candidates read from this installation, never an error ------------------


def _completion_app(ctx: click.Context) -> App:
    """The App for a completion request: the group's callback has not run, so build it."""
    root = ctx.find_root()
    return App(root.params.get("config_path"), root.params.get("home"))


def _complete(kind: str) -> Callable[[click.Context, click.Parameter, str],
                                     list[click.shell_completion.CompletionItem]]:
    """Return a shell_complete function offering scenarios, areas, ids, templates or files."""

    def complete(ctx: click.Context, param: click.Parameter,
                 incomplete: str) -> list[CompletionItem]:
        # Imported here, on a completion request: every other run builds these options only.
        from click.shell_completion import CompletionItem

        if kind == "file":
            return [CompletionItem(incomplete, type="file")]
        try:
            app = _completion_app(ctx)
            if kind == "scenario":
                pairs = [(s.id, s.label) for s in app.catalog.scenarios.values()]
            elif kind == "area":
                scenario = ctx.params.get("scenario") or app.config.defaults.scenario
                pairs = [(a.id, a.label) for a in app.catalog.areas_for(scenario)]
            elif kind == "request":
                pairs = [(str(r.id), f"{r.status}: {r.subject}")
                         for r in app.outbox.records(limit=200)]
            else:
                from draft_feedback.drafting import template_names

                pairs = [(name, where) for name, where in template_names(app.config)]
        except Exception:  # noqa: BLE001 - a broken config must not break the shell
            return []
        return [CompletionItem(value, help=help_text) for value, help_text in pairs
                if value.startswith(incomplete)]

    return complete


# --- drafting ---------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("-s", "--scenario", metavar="NAME", shell_complete=_complete("scenario"),
              help="interview, application, promotion, manuscript, pitch, grant, "
                   "journal-article, admissions, mentor, or one from your config (default: "
                   "defaults.scenario).")
@click.option("--to", "to", metavar='"NAME <ADDR>"', help="The person to ask.")
@click.option("--org", metavar="TEXT", help="Organisation: company, publisher, label, agency.")
@click.option("--role", metavar="TEXT", help="The position, promotion, manuscript or pitch.")
@click.option("--rejected", metavar="WHEN",
              help="When the rejection arrived (ISO 8601; naive = config timezone; "
                   "default now).")
@click.option("--ask", "areas", metavar="AREA", multiple=True, shell_complete=_complete("area"),
              help="A focus area (repeatable); see `draft-feedback areas`.")
@click.option("--question", "questions", metavar="TEXT", multiple=True,
              help="A question of your own (repeatable; tone-checked).")
@click.option("--highlight", metavar="TEXT",
              help="Something specific you appreciated about the process.")
@click.option("--future/--no-future", default=True,
              help="Ask to be kept in mind for future opportunities (default on).")
@click.option("--context", metavar="TEXT",
              help="Mentor: a line on what happened or the feedback received so far.")
@click.option("--tone", type=click.Choice(["warm", "formal", "brief"]),
              help="Register of the wording (default: defaults.tone).")
@click.option("--from-eml", "from_eml", metavar="FILE", shell_complete=_complete("file"),
              help="Prefill from the saved rejection email (- for standard input).")
@click.option("--schedule", is_flag=True, help="Queue at the earliest allowed time.")
@click.option("--at", "at", metavar="WHEN", help="Queue for WHEN (not before the cooling-off).")
@click.option("--force", is_flag=True,
              help="Keep an --at in the past or outside the send window without asking.")
@click.option("--again", is_flag=True,
              help="Confirm a request to someone who already has one (draft, queued or sent).")
@click.option("--follow-up/--no-follow-up", "follow_up", default=None,
              help="One gentle follow-up if no reply comes (default: follow_up.after_days).")
@click.option("--thank-you-only", is_flag=True,
              help="A short thank-you with no questions (automated or form rejections).")
@click.option("--guided", is_flag=True,
              help="Reflection questions first, then the fields, a preview and scheduling.")
@click.option("--edit", "edit_first", is_flag=True, help="Open the draft in $EDITOR first.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_app
def new(app: App, scenario: str | None = None, to: str | None = None, org: str | None = None,
        role: str | None = None, rejected: str | None = None, areas: tuple[str, ...] = (),
        questions: tuple[str, ...] = (), highlight: str | None = None, future: bool = True,
        tone: str | None = None, from_eml: str | None = None, schedule: bool = False,
        at: str | None = None, thank_you_only: bool = False, guided: bool = False,
        edit_first: bool = False, as_json: bool = False, again: bool = False,
        follow_up: bool | None = None, context: str | None = None, force: bool = False) -> None:
    """Draft a feedback request from the details of a rejection.

    The draft is saved in the outbox; --schedule or --at queue it for sending after the
    cooling-off (48 hours after the rejection unless configured otherwise).

    \b
    Example:
      draft-feedback new --to "Priya Shah <priya@example.com>" --org Acme \\
          --role "Data Analyst" --rejected 2026-11-27T16:00 \\
          --ask interview-system-design --highlight "the pairing exercise"
      draft-feedback new -s manuscript --from-eml rejection.eml --schedule
      draft-feedback new -s mentor --to "Maria <maria@example.com>" --org Acme \\
          --context "They wanted more experience with experiments"
    """
    from draft_feedback.workflow import NewOptions

    options = NewOptions(
        scenario=scenario, to=to, org=org, role=role, rejected=rejected, areas=areas,
        questions=questions, highlight=highlight, future=future, tone=tone, from_eml=from_eml,
        schedule=schedule, at=at, thank_you_only=thank_you_only, again=again,
        follow_up=follow_up, context=context)
    if guided:
        from draft_feedback.guided import run as run_guided

        record = run_guided(app, options)
    else:
        record = _create(app, options, edit_first, _confirm_at(force))
    if as_json:
        _print_json(record.to_json())
    elif guided:  # the flow has shown the preview already
        click.echo(f"Request {record.id} is queued for {_when(record.send_at, app)} "
                   f"({terminal.why(record, app.config.send_window, app.config.timezone)})."
                   if record.status == "scheduled" else
                   f"Request {record.id} is saved as a draft.")
        click.echo(_next_step(record))
    else:
        click.echo(_render_record(record, app))
        click.echo(_next_step(record))
    if record.status == "draft" and (schedule or at) and terminal.has_errors(record):
        raise Failure(f"request {record.id} was saved as a draft but not queued: the tone check "
                      "found wording that could hurt you; change it with `draft-feedback edit "
                      f"{record.id}`, then `draft-feedback schedule {record.id}`")


def _create(app: App, options: Any, edit_first: bool,
            confirm: Callable[[str], bool] | None) -> Record:
    """Validate, render, optionally edit, check and store one request."""
    from draft_feedback.workflow import asked_before, new_request, prepare

    now = utcnow()
    prepared = prepare(options, app.config, app.catalog, now)
    _warn_automated(prepared)
    note = asked_before(prepared, options, app.outbox, _interactive())
    record = new_request(prepared.draft, prepared.origin, app.config, app.outbox, now,
                         schedule=options.schedule, at=prepared.at, catalog=app.catalog,
                         revise=_revise if edit_first else None, confirm=confirm)
    if note:
        # Said once the request is stored: a draft refused for its wording is no second request.
        click.echo(note, err=True)
    return record


def _confirm_at(force: bool) -> Callable[[str], bool] | None:
    """How a chosen time in the past or outside the window is settled: --force, or asking."""
    if force:
        return lambda reason: True
    if not _interactive():
        return None
    return lambda reason: click.confirm(f"{terminal.printable(reason)}. Send then anyway?",
                                        default=False, err=True)


def _revise(subject: str, body: str) -> tuple[str, str]:
    from draft_feedback.guided import revise_in_editor

    return revise_in_editor(subject, body)


def _warn_automated(prepared: Any) -> None:
    from draft_feedback.addresses import lookalike_warnings

    rejection = prepared.rejection
    to = prepared.draft.to
    if rejection is not None and rejection.to_header == "Reply-To" and rejection.to == to:
        click.echo(f"Note: the recipient {to.email} is the email's Reply-To, not its From; "
                   "check that is whom you mean to ask, or give --to.", err=True)
    for warning in lookalike_warnings(to):
        click.echo(f"Warning: {terminal.printable(warning)}.", err=True)
    for note in prepared.notes:
        click.echo(f"Note: {terminal.printable(note)}", err=True)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("-s", "--scenario", metavar="NAME", shell_complete=_complete("scenario"),
              help="Scenario (default: defaults.scenario).")
@pass_app
def areas(app: App, scenario: str | None) -> None:
    """List the focus areas (id, label, question) a scenario offers.

    \b
    Example:
      draft-feedback areas --scenario manuscript
    """
    catalog = app.catalog
    chosen = catalog.scenario(scenario or app.config.defaults.scenario)
    click.echo(f"Focus areas for {chosen.id} ({chosen.label}); ask with --ask ID:\n")
    for area in catalog.areas_for(chosen.id):
        default = " (default)" if area.id in chosen.default_areas else ""
        click.echo(f"{area.id}{default}\n    {area.label}\n    {area.question}")
    click.echo("\nScenarios: " + ", ".join(catalog.scenarios))


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file", required=False, default="-", metavar="[FILE | -]",
                shell_complete=_complete("file"))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@pass_app
def check(app: App, file: str, as_json: bool) -> None:
    """Tone-check any text; exit 1 if it finds wording that could hurt you.

    \b
    Example:
      draft-feedback check draft.txt
      echo "Why didn't I get the job?" | draft-feedback check -
    """
    from draft_feedback.workflow import check_text

    text = _read_text(file, "FILE")
    findings = check_text(text, app.config)
    if as_json:
        _print_json([f.to_dict() for f in findings])
    else:
        click.echo(_format_findings([f.to_dict() for f in findings]))
    if any(f.severity == "error" for f in findings):
        sys.exit(EXIT_FAILURE)


# --- the outbox -------------------------------------------------------------------------------


@cli.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--status", type=click.Choice(STATES), help="Only requests in this state.")
@click.option("--limit", type=click.IntRange(min=1, max=LIST_MOST, clamp=True), default=None,
              help=f"Show the newest N requests (default {LIST_PAGE}).")
@click.option("--all", "show_all", is_flag=True, help="Show every request, however many.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON list.")
@pass_app
def list_(app: App, status: str | None, limit: int | None, show_all: bool,
          as_json: bool) -> None:
    """Show the outbox: id, status, recipient, organisation, send time, subject.

    The newest 50 requests, oldest first; interrupted and failed ones further back are
    still named under "To do".

    \b
    Example:
      draft-feedback list --status scheduled
    """
    if show_all and limit is not None:
        raise click.UsageError("choose one of --limit and --all")
    from draft_feedback.workflow import list_page

    page = list_page(app.outbox, status, None if show_all else (limit or LIST_PAGE), utcnow())
    records, hidden = page.records, page.hidden
    more = (f"{hidden:,} older request{'s' if hidden != 1 else ''} not shown; "
            "`draft-feedback list --all` shows every one, `--limit N` the newest N.")
    if as_json:
        _print_json([r.to_json() for r in records])
        if hidden:
            click.echo(more, err=True)
        return
    # On a terminal, fit its width; into a pipe or a file, keep every character.
    width = os.get_terminal_size().columns if sys.stdout.isatty() else None
    click.echo(terminal.table(records, app.config.timezone, page.older, width))
    if hidden:
        click.echo(more)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID", shell_complete=_complete("request"))
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.option("--eml", is_flag=True, help="Print the exact message that is (or was) sent.")
@pass_app
def show(app: App, request_id: int, as_json: bool, eml: bool) -> None:
    """Show one request, with its reflection notes and any reply.

    \b
    Example:
      draft-feedback show 7
      draft-feedback show 7 --eml > request.eml
    """
    if as_json and eml:
        raise click.UsageError("choose one of --json and --eml")
    record = app.outbox.get(request_id)
    if eml:
        sys.stdout.flush()
        from draft_feedback.workflow import eml_for

        sys.stdout.buffer.write(eml_for(record, app.config, utcnow()))
        sys.stdout.buffer.flush()
    elif as_json:
        _print_json(record.to_json())
    else:
        click.echo(_render_record(record, app, full=True))


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID", shell_complete=_complete("request"))
@pass_app
def edit(app: App, request_id: int) -> None:
    """Edit the subject and body in $EDITOR; the tone check runs again.

    \b
    Example:
      EDITOR=nano draft-feedback edit 7
    """
    from draft_feedback.guided import edit_in_editor

    record = edit_in_editor(app, request_id)
    click.echo(_render_record(record, app))
    click.echo(_next_step(record))


@cli.command("schedule", context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID", shell_complete=_complete("request"))
@click.option("--at", "at", metavar="WHEN",
              help="Send at WHEN (ISO 8601; not before the cooling-off ends).")
@click.option("--force", is_flag=True,
              help="Keep an --at in the past or outside the send window without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_app
def schedule_cmd(app: App, request_id: int, at: str | None, as_json: bool,
                 force: bool) -> None:
    """Queue a draft, or move a queued request.

    Without --at it goes at the earliest allowed time, moved into the send window.

    \b
    Example:
      draft-feedback schedule 7
      draft-feedback schedule 7 --at "2026-12-01T10:30"
    """
    from draft_feedback.workflow import parse_at, schedule_request

    when = parse_at(at, app.config, utcnow())
    record = schedule_request(request_id, app.config, app.outbox, utcnow(), at=when,
                              notify=lambda note: click.echo(note, err=as_json),
                              confirm=_confirm_at(force))
    if as_json:
        _print_json(record.to_json())
    else:
        click.echo(f"Request {record.id} is queued for {_when(record.send_at, app)} "
                   f"({terminal.why(record, app.config.send_window, app.config.timezone)}).")
        click.echo(_next_step(record))


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID", shell_complete=_complete("request"))
@pass_app
def cancel(app: App, request_id: int) -> None:
    """Stop a draft or queued request; it stays in the history.

    \b
    Example:
      draft-feedback cancel 7
    """
    from draft_feedback.workflow import cancel_request

    record = cancel_request(request_id, app.outbox)
    click.echo(f"Request {record.id} is cancelled; it stays in `draft-feedback list`.")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID", shell_complete=_complete("request"))
@pass_app
def retry(app: App, request_id: int) -> None:
    """Put an interrupted or failed request back in the queue.

    Check your Sent folder first: an interrupted request may have arrived.

    \b
    Example:
      draft-feedback retry 7
    """
    from draft_feedback.workflow import retry_request

    record = retry_request(request_id, app.outbox, utcnow())
    click.echo(f"Request {record.id} is queued again for {_when(record.send_at, app)}; "
               "the next `draft-feedback send-due` sends it.")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID", shell_complete=_complete("request"))
@click.argument("file", required=False, default="-", metavar="[FILE | -]",
                shell_complete=_complete("file"))
@pass_app
def reply(app: App, request_id: int, file: str) -> None:
    """Record the answer that came back (text or a saved .eml); status replied.

    \b
    Example:
      draft-feedback reply 7 answer.eml
      pbpaste | draft-feedback reply 7 -
    """
    from draft_feedback.workflow import record_reply

    record = record_reply(request_id, file, app.outbox, utcnow())
    click.echo(f"Reply saved with request {record.id}; `draft-feedback show {record.id}` "
               "shows the request, your reflection and the reply together.")


# --- sending ----------------------------------------------------------------------------------


@cli.command("send-due", context_settings=CONTEXT_SETTINGS)
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@click.option("--limit", type=click.IntRange(min=1, max=LIST_MOST, clamp=True), default=None,
              help="Send at most N requests in this run.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print only what was sent or went wrong (for cron).")
@pass_app
def send_due_cmd(app: App, dry_run: bool, limit: int | None, quiet: bool = False) -> None:
    """Send every queued request whose time has come. Safe from cron, safe to run twice.

    Off a terminal every line starts with the time, so a log says when each thing happened.
    `draft-feedback schedule-setup cron` prints the crontab line for this installation.

    \b
    Example (crontab, every 10 minutes; use the full path schedule-setup prints):
      */10 * * * * /home/you/.venv/bin/draft-feedback send-due --quiet
    """
    from draft_feedback.workflow import next_due, send_due

    report = send_due(app.outbox, app.config, clock=utcnow, limit=limit, dry_run=dry_run)
    _print_report(report, app, quiet)
    if not quiet and not any(o.status == "sent" for o in report.outcomes):
        _say(terminal.next_queued(next_due(app.outbox), utcnow(), app.config.timezone))
    if report.failed:
        sys.exit(EXIT_FAILURE)


def _say(message: str, err: bool = False) -> None:
    """Print a line; off a terminal (cron, a log file) it starts with the time."""
    click.echo(terminal.stamped(message, sys.stderr if err else sys.stdout, utcnow()), err=err)


def _print_report(report: Any, app: App, quiet: bool = False) -> None:
    for request_id in report.interrupted_before:
        _say(f"request {request_id}: interrupted (a run stopped mid-send); check your "
             f"Sent folder, then `draft-feedback retry {request_id}` if it did not go")
    if report.dry_run:
        for o in report.outcomes:
            _say(f"request {o.id}: would be sent to {o.detail}")
        if not quiet:
            _say(f"dry run: {len(report.outcomes)} due, nothing sent. Run without --dry-run "
                 "to send.")
        return
    for note in report.notes:
        click.echo(note)
    for o in report.outcomes:
        detail = terminal.printable(o.detail)  # a server's reply may carry escape sequences
        if o.status == "sent":
            _say(f"request {o.id}: sent")
        elif o.status == "held":
            _say(f"request {o.id}: held ({detail}); `draft-feedback schedule {o.id}` "
                 "sends it anyway")
        elif o.status == "scheduled":
            _say(f"request {o.id}: not sent ({detail}); it stays queued and is tried "
                 "again later", err=True)
        elif o.status == "failed":
            _say(f"request {o.id}: failed ({detail}); fix the cause, then "
                 f"`draft-feedback retry {o.id}`", err=True)
        elif o.status == "interrupted":
            _say(f"request {o.id}: interrupted ({detail}); check your Sent folder, "
                 f"then `draft-feedback retry {o.id}` if it did not go", err=True)
    if quiet:
        return
    sent = sum(1 for o in report.outcomes if o.status == "sent")
    _say(terminal.sent_total(sent, len(report.outcomes) - sent, report.waiting_for_window))


@cli.command("schedule-setup", context_settings=CONTEXT_SETTINGS)
@click.argument("kind", type=click.Choice(["cron", "systemd", "launchd"]))
@click.option("--install", is_flag=True, help="Install the entry instead of printing it.")
@pass_app
def schedule_setup(app: App, kind: str, install: bool) -> None:
    """Print (or install) the entry that runs send-due every 10 minutes.

    cron for a crontab, systemd for a user timer (Linux), launchd for macOS. The entry uses
    the full path of this installation and this run's --config/--home settings.

    \b
    Example:
      draft-feedback schedule-setup cron
      draft-feedback schedule-setup systemd --install
    """
    from draft_feedback.config import home_dir
    from draft_feedback.schedulers import entry
    from draft_feedback.schedulers import install as install_entry

    data = home_dir(app.home_option)
    item = entry(kind, data)
    if install:
        for line in install_entry(item, data):
            click.echo(line[0].upper() + line[1:] + ".")
    else:
        if item.cron_line is not None:
            click.echo("# Add this line with `crontab -e`:")
            click.echo(item.cron_line)
        for path, text in item.files.items():
            click.echo(f"# {path}")
            click.echo(text)
        if kind == "systemd":
            click.echo("# then: systemctl --user daemon-reload && systemctl --user enable --now "
                       "draft-feedback.timer")
        if kind == "launchd":
            click.echo(f"# then: launchctl load -w {next(iter(item.files))}")
    for note in item.notes:
        click.echo(f"Note: {note}", err=not install)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--interval", type=click.FloatRange(min=1), default=60.0, show_default=True,
              metavar="SECONDS", help="Pause between runs.")
@pass_app
def worker(app: App, interval: float) -> None:
    """Run send-due in a loop until SIGINT or SIGTERM, finishing the message in flight.

    \b
    Example:
      draft-feedback worker --interval 300
    """
    from draft_feedback.workflow import run_worker

    click.echo(f"Sending due requests every {interval:g} s; Ctrl-C or SIGTERM stops after the "
               "message in flight.")
    code = run_worker(app.outbox, app.config, clock=utcnow, interval=interval,
                      on_report=lambda report: _print_report(report, app),
                      on_error=lambda message: click.echo(f"Error: {message}", err=True))
    click.echo("Worker stopped.")
    sys.exit(code)


# --- templates, config, passwords --------------------------------------------------------------


@cli.group(context_settings=CONTEXT_SETTINGS)
def templates() -> None:
    """The built-in templates; copy one to customise it.

    \b
    Example:
      draft-feedback templates copy interview.txt.j2
    """


@templates.command("list", context_settings=CONTEXT_SETTINGS)
@pass_app
def templates_list(app: App) -> None:
    """List the templates, built-in and your own.

    \b
    Example:
      draft-feedback templates list
    """
    from draft_feedback.workflow import template_names

    for name, where in template_names(app.config):
        click.echo(f"{name}  ({where})")


@templates.command("show", context_settings=CONTEXT_SETTINGS)
@click.argument("name", shell_complete=_complete("template"))
@pass_app
def templates_show(app: App, name: str) -> None:
    """Print a template (yours if you have one of that name, else the built-in).

    \b
    Example:
      draft-feedback templates show interview.txt.j2
    """
    from draft_feedback.workflow import template_text

    click.echo(template_text(app.config, name), nl=False)


@templates.command("copy", context_settings=CONTEXT_SETTINGS)
@click.argument("name", shell_complete=_complete("template"))
@click.option("--force", is_flag=True, help="Replace your existing copy.")
@pass_app
def templates_copy(app: App, name: str, force: bool) -> None:
    """Copy a built-in template into your templates folder to customise it.

    \b
    Example:
      draft-feedback templates copy interview.txt.j2
    """
    from draft_feedback.workflow import copy_template

    target = copy_template(app.config, name, force)
    click.echo(f"Copied to {target}; edit it there. Your copy now overrides the built-in.")


@cli.group("config", context_settings=CONTEXT_SETTINGS)
def config_group() -> None:
    """Write, check and locate the config file.

    \b
    Example:
      draft-feedback config init && draft-feedback config check
    """


@config_group.command("init", context_settings=CONTEXT_SETTINGS)
@click.option("--name", metavar="NAME", help="Your name, as your emails are signed.")
@click.option("--email", metavar="ADDR", help="Your address, the one the requests come from.")
@click.option("--timezone", metavar="TZ", help="Your IANA timezone (default: this machine's).")
@click.option("--provider", type=click.Choice(list(PROVIDER_IDS)),
              help="Fill in the mail settings of this provider.")
@click.option("--force", is_flag=True, help="Replace an existing config file.")
@pass_app
def config_init(app: App, name: str | None, email: str | None, timezone: str | None,
                provider: str | None, force: bool) -> None:
    """Write a config with your name, address, timezone and mail provider.

    On a terminal it asks for what the options do not give; every other key is written
    commented out. Providers: gmail, outlook, fastmail, icloud, proton-bridge, relay.

    \b
    Example:
      draft-feedback config init
      draft-feedback config init --name "Ana López" --email ana@fastmail.com \\
          --timezone Europe/Madrid --provider fastmail
    """
    from draft_feedback.config import config_path, local_timezone_name
    from draft_feedback.guided import _checked as checked
    from draft_feedback.presets import PROVIDERS, check_identity, guess_provider
    from draft_feedback.workflow import write_config

    target = config_path(app.config_option)
    if target.exists() and not force:
        raise BadInput(f"{target} already exists; edit it, or add --force to replace it")
    if not _interactive() and (name is None or email is None):
        missing = " and ".join(o for o, v in (("--name", name), ("--email", email)) if v is None)
        raise BadInput(f"{missing}: config init writes your own name and address, and there is "
                       'no terminal to ask on; give --name "Your Name" --email you@example.com '
                       "(and --timezone, --provider)")
    zone = timezone or local_timezone_name()
    if _interactive():
        name = name or click.prompt("Your name, as your emails are signed", value_proc=checked(
            lambda text: check_identity(text, "x@example.com", "UTC")))
        email = email or click.prompt("Your email address", value_proc=checked(
            lambda text: check_identity("x", text, "UTC")))
        if timezone is None:
            zone = click.prompt("Your timezone", default=zone, value_proc=checked(
                lambda text: check_identity("x", "x@example.com", text.strip())))
        if provider is None:
            click.echo("Mail provider: " + "; ".join(
                f"{p.id} ({p.label})" for p in PROVIDERS.values()) + "; skip (set smtp later)")
            provider = click.prompt("Provider", type=click.Choice([*PROVIDER_IDS, "skip"]),
                                    default=guess_provider(email or "") or "skip")
            provider = None if provider == "skip" else provider
    assert name is not None and email is not None
    name, email, zone = check_identity(name, email, zone.strip())
    written = write_config(app.config_option, name, email, zone, provider, force)
    chosen = PROVIDERS[provider] if provider else None
    click.echo(f"Wrote {written}: sender {name} <{email}>, timezone {zone}"
               + (f", {chosen.label} ({chosen.host}:{chosen.port}, {chosen.security})."
                  if chosen else "; no mail provider yet (set smtp there before sending)."))
    if chosen is not None and chosen.login:
        click.echo(f"{chosen.note}\nNext: `draft-feedback login` stores the password; "
                   "`draft-feedback config check` validates the file.")
    else:
        click.echo("Next: `draft-feedback config check` validates the file.")


@config_group.command("check", context_settings=CONTEXT_SETTINGS)
@pass_app
def config_check(app: App) -> None:
    """Validate the config file, the catalog and the tone rules.

    \b
    Example:
      draft-feedback config check
    """
    from draft_feedback.workflow import rules_for

    config = app.config
    catalog = app.catalog
    rules_for(config)
    if not config.exists:
        click.echo(f"{config.path}: no config file; built-in defaults are in use "
                   "(`draft-feedback config init` writes one).")
        return
    click.echo(f"{config.path}: OK ({len(catalog.scenarios)} scenarios, "
               f"{len(catalog.areas)} focus areas, timezone {config.timezone.key}).")


@config_group.command("path", context_settings=CONTEXT_SETTINGS)
@pass_app
def config_path_cmd(app: App) -> None:
    """Print the config file, data folder, outbox and templates folder.

    \b
    Example:
      draft-feedback config path
    """
    from draft_feedback.workflow import paths

    where = paths(app.config_option, app.home_option, app.config)
    click.echo(f"config:    {where.config}{'' if where.config.exists() else '  (not created yet)'}")
    click.echo(f"data:      {where.data}")
    click.echo(f"outbox:    {where.outbox}")
    click.echo(f"templates: {where.templates}")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--user", metavar="EMAIL", help="SMTP login (default: smtp.user or sender.email).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--imap", is_flag=True, help="The IMAP password, when it differs from SMTP's.")
@click.option("--allow-insecure-keyring", is_flag=True,
              help="Store it even in a plain-text or file keyring backend.")
@pass_app
def login(app: App, user: str | None, password_stdin: bool, imap: bool = False,
          allow_insecure_keyring: bool = False) -> None:
    """Keep the SMTP password in the system keyring.

    For Gmail, use an app password (Google Account > Security > App passwords).

    \b
    Example:
      draft-feedback login --user alex@example.com
      pass show mail/app-password | draft-feedback login --password-stdin
    """
    from draft_feedback.workflow import smtp_user, store_password

    name = smtp_user(app.config, user, imap=imap)
    kind = "IMAP" if imap else "SMTP"
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt(f"{kind} password for {name}", hide_input=True, default="",
                              show_default=False)
    if not secret:
        raise BadInput("the password is empty; nothing was stored")
    where = store_password(name, secret, allow_insecure_keyring, imap=imap)
    service = "draft-feedback-imap" if imap else "draft-feedback"
    click.echo(f"{kind} password for {name} stored in {where}, service {service}.")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--user", metavar="EMAIL", help="SMTP login (default: smtp.user or sender.email).")
@click.option("--imap", is_flag=True, help="Remove the IMAP password instead.")
@pass_app
def logout(app: App, user: str | None, imap: bool = False) -> None:
    """Remove the SMTP password from the system keyring.

    \b
    Example:
      draft-feedback logout
    """
    from draft_feedback.workflow import delete_password, smtp_user

    name = smtp_user(app.config, user, imap=imap)
    if delete_password(name, imap=imap):
        click.echo(f"{'IMAP' if imap else 'SMTP'} password for {name} removed from the system "
                   "keyring.")
    else:
        click.echo(f"No password for {name} was stored.")


# --- output helpers ---------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


# An email is a few kilobytes; a megabyte of text to tone-check is a mistaken file.
MAX_CHECK_CHARS = 1_000_000


def _read_text(file: str, what: str) -> str:
    from draft_feedback.workflow import read_input

    data = read_input(file, what)
    name = "standard input" if file == "-" else file
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{name}: not UTF-8 text") from None
    if len(text) > MAX_CHECK_CHARS:
        raise BadInput(f"{name}: {len(text):,} characters is far longer than an email; check "
                       "the email itself")
    return text


def _when(t: datetime | None, app: App) -> str:
    return terminal.when(t, app.config.timezone)


def _format_findings(findings: list[dict[str, Any]]) -> str:
    return terminal.format_findings(findings)


def _render_record(record: Record, app: App, full: bool = False) -> str:
    return terminal.render_record(record, app.config.timezone, app.config.send_window, full)


def _next_step(record: Record) -> str:
    from draft_feedback.workflow import SIGNATURE_PLACEHOLDER

    return terminal.next_step(record, SIGNATURE_PLACEHOLDER)


# --- the one place where errors become exit codes ---------------------------------------------


def main(argv: list[str] | None = None, prog_name: str = "draft-feedback") -> NoReturn:
    """Run the command line; every error becomes a message and an exit code, never a trace."""
    code = run(cli.main, argv, prog_name)
    sys.exit(code)


def _input_ended(exc: BaseException) -> bool:
    """Whether an Abort came from the end of input, not Ctrl-C (Click's prompt raises Abort
    for both; the EOFError stays its context, or its context's when re-raised with a note)."""
    seen: BaseException | None = exc
    for _ in range(4):
        seen = seen.__context__ if seen is not None else None
        if isinstance(seen, EOFError):
            return True
    return False


def run(entry: Callable[..., Any], argv: list[str] | None, prog_name: str) -> int:
    """Call a Click entry point and translate what it raises into an exit code."""
    closed_stdin = sys.stdin is None
    if closed_stdin:
        # Started with standard input closed (`<&-`, some service managers): reads see an
        # empty input and get the same clear errors, instead of failing on None.
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the whole run
    # Started with standard output or error closed (`>&-`, a bare cron or service entry): the
    # work is done all the same and what it says goes nowhere. Opening the null device here
    # also takes the free descriptor, so no file opened later lands on 1 or 2.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole run
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole run
    try:
        entry(args=argv, prog_name=prog_name, standalone_mode=False)
        sys.stdout.flush()  # here, where a reader that left (head, true) is caught below
    except DraftFeedbackError as exc:
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort as exc:
        if closed_stdin:
            click.echo("Error: standard input is closed, so there is nothing to answer the "
                       "questions with; run it on a terminal, or give the options instead; "
                       "nothing was stored.", err=True)
            return EXIT_BAD_INPUT
        note = getattr(exc, "note", None)
        if _input_ended(exc):
            click.echo("Error: standard input ended before the questions were answered; run it "
                       "on a terminal, or give the options instead; "
                       + (note if note else "nothing was stored."), err=True)
            return EXIT_BAD_INPUT
        # Ctrl-C at a prompt; 130 is the shell's code for SIGINT.
        click.echo(f"\nInterrupted. {note}" if note else "\nAborted; nothing was stored.",
                   err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        terminal.quiet_stdout()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # noqa: BLE001 - the one place no error may escape as a trace
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc}. Nothing else was changed; "
                   "please report this with the command you ran.", err=True)
        return EXIT_FAILURE
    return 0




# --- after the request: sync, thank, reflect, review -------------------------------------------


@cli.command("sync", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON.")
@pass_app
def sync_cmd(app: App, as_json: bool) -> None:
    """Read the mailbox (read-only): record replies, hold requests whose recipient wrote first.

    Nothing in the mailbox is marked read, moved or deleted.

    \b
    Example:
      draft-feedback sync
    """
    from draft_feedback.workflow import sync_mailbox

    report = sync_mailbox(app.outbox, app.config, utcnow())
    if as_json:
        _print_json(report.to_json())
        return
    for event in report.events:
        click.echo(f"request {event.request_id}: {event.action} ({event.detail})")
    replied = sum(1 for e in report.events if e.action == "replied")
    held = sum(1 for e in report.events if e.action == "held")
    click.echo(f"{report.messages:,} message(s) read in {report.seconds:.2f} s: {replied} "
               f"repl{'y' if replied == 1 else 'ies'} recorded, {held} held.")
    for event in report.events:
        if event.action == "replied":
            click.echo(f"Next: `draft-feedback show {event.request_id}` to read it, "
                       f"`draft-feedback thank {event.request_id}` to say thank you.")
            break
    for event in report.events:
        if event.action == "held":
            click.echo(f"Held requests wait for you: `draft-feedback schedule "
                       f"{event.request_id}` sends one anyway, `draft-feedback cancel "
                       f"{event.request_id}` ends it.")
            break


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID")
@click.option("--schedule", is_flag=True, help="Queue at the next opening of the send window.")
@click.option("--at", "at", metavar="WHEN", help="Queue for WHEN (ISO 8601).")
@click.option("--force", is_flag=True,
              help="Keep an --at outside the send window without asking.")
@click.option("--tone", type=click.Choice(["warm", "formal", "brief"]),
              help="Register of the wording (default: the request's).")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_app
def thank(app: App, request_id: int, schedule: bool, at: str | None, tone: str | None,
          as_json: bool, force: bool) -> None:
    """Draft a short thank-you to the reply of request ID, threaded under their answer.

    No cooling-off: they gave their time, so it may go within the day.

    \b
    Example:
      draft-feedback thank 7 --schedule
    """
    from draft_feedback.workflow import parse_at, thank_reply

    when = parse_at(at, app.config, utcnow())
    record = thank_reply(request_id, app.outbox, app.config, utcnow(), schedule=schedule,
                         at=when, tone=tone, confirm=_confirm_at(force))
    if as_json:
        _print_json(record.to_json())
        return
    click.echo(_render_record(record, app))
    click.echo(_next_step(record))


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", type=REQUEST_ID, metavar="ID")
@pass_app
def reflect(app: App, request_id: int) -> None:
    """Note, privately, what in a reply resonates, what does not, and one next step.

    Stored with the request and never sent.

    \b
    Example:
      draft-feedback reflect 7
    """
    from draft_feedback.workflow import REFLECT_QUESTIONS, reflect_on_reply

    record = app.outbox.get(request_id)
    if record.status != "replied":
        reflect_on_reply(request_id, {}, app.outbox, utcnow())  # raises the clear error
    if record.reply:
        click.echo(record.reply.rstrip("\n"))
        click.echo("")
    answers = {}
    for key, question in REFLECT_QUESTIONS:
        answers[key] = click.prompt(question, default="", show_default=False)
    record = reflect_on_reply(request_id, answers, app.outbox, utcnow())
    click.echo(f"Kept with request {record.id}, for you only; `draft-feedback review` gathers "
               "your next steps.")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the review as JSON.")
@pass_app
def review(app: App, as_json: bool) -> None:
    """The journey so far: requests, replies, what you asked, what came back, next steps.

    \b
    Example:
      draft-feedback review
    """
    from draft_feedback.workflow import review_journey

    summary = review_journey(app.outbox, app.catalog, app.config, utcnow())
    if as_json:
        _print_json(summary.to_json())
        return
    click.echo(_review_page(summary))


def _review_page(summary: Any) -> str:
    lines = ["Your feedback journey", "=====================", ""]
    if not summary.by_status:
        return "\n".join(lines + ["No requests yet. `draft-feedback new --help` shows how to "
                                  "start."])
    counts = ", ".join(f"{n} {s}" for s, n in summary.by_status.items())
    lines.append(f"Requests:   {sum(summary.by_status.values())} ({counts})")
    if summary.sent:
        rate = f"{summary.reply_rate:.0%}" if summary.reply_rate is not None else "-"
        lines.append(f"Replies:    {summary.replied} of {summary.sent} sent ({rate})")
    if summary.median_reply_days is not None:
        lines.append(f"Median time to a reply: {summary.median_reply_days:g} days")
    if summary.areas:
        lines += ["", "What you asked about:"]
        lines += [f"  {n} x {label}" for label, n in summary.areas]
    if summary.themes:
        lines += ["", "What the replies talk about:"]
        lines += [f"  {n} x {label}" for label, n in summary.themes]
    if summary.next_steps:
        lines += ["", "Your next steps:"]
        lines += [f"  [{i}] {step}" for i, step in summary.next_steps]
    if summary.waiting:
        lines += ["", "Still waiting:"]
        lines += [f"  {i:>3} {status:<11} {detail}" for i, status, detail in summary.waiting]
    lines += ["", "Some feedback will resonate and some won't; both are fine. Keep what helps."]
    return "\n".join(lines)
