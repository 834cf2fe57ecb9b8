"""The commands as a user types them: output, exit codes, error text, and what is stored."""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
import time_machine
from click.testing import Result

from draft_feedback.cli import LIST_PAGE, cli

from conftest import PRIYA, write_config

Run = Callable[..., Result]
BERLIN = ZoneInfo("Europe/Berlin")
FIXTURES = Path(__file__).parent / "fixtures"
BASE = ("new", "--to", PRIYA, "--org", "Acme", "--role", "Data Analyst",
        "--rejected", "2026-11-20T16:00")


def stored(run: Run) -> list[dict]:
    return json.loads(run("list", "--json", ok=True).stdout)


def all_commands() -> list[tuple[str, click.Command]]:
    found = []

    def walk(prefix: str, command: click.Command) -> None:
        found.append((prefix, command))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)

    walk("", cli)
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(), ids=lambda v: str(v))
def test_every_command_has_help_with_an_example(run: Run, name: str,
                                                command: click.Command) -> None:
    result = run(*name.split(), "--help", ok=True)
    assert "Example" in result.stdout, name
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    if name and " " not in name:
        assert name in readme, f"{name} is not documented in the README"


def test_version(run: Run) -> None:
    assert "draft-feedback, version" in run("--version", ok=True).stdout


def test_bare_command_off_a_terminal_prints_help(run: Run) -> None:
    result = run(ok=True)
    assert "Usage: " in result.stdout and "Commands:" in result.stdout


def test_new_prints_the_draft_and_saves_it(run: Run, config_file: Path) -> None:
    result = run(*BASE, "--ask", "interview-system-design", "--highlight",
                 "the conversation about your data platform", ok=True)
    out = result.stdout
    assert out.startswith("Request 1 (draft, interview, warm)")
    assert "To:      Priya Shah <priya@example.com>" in out
    assert "What would have made my system-design answer stronger?" in out
    assert "I especially appreciated the conversation about your data platform." in out
    assert "Tone check: no findings." in out
    assert "Alex Rivera" in out
    assert "draft-feedback schedule 1" in out
    [record] = stored(run)
    assert record["status"] == "draft" and record["send_at"] is None


def test_new_json_is_the_record_of_the_spec(run: Run, config_file: Path) -> None:
    result = run(*BASE, "--json", ok=True)
    record = json.loads(result.stdout)
    assert {"id", "status", "scenario", "to", "org", "role", "subject", "body", "rejected_at",
            "earliest_send_at", "send_at", "created_at", "sent_at", "attempts", "last_error",
            "message_id", "findings"} <= set(record)
    assert record["id"] == 1 and record["status"] == "draft"
    assert record["scenario"] == "interview"
    assert record["to"] == PRIYA
    assert (record["org"], record["role"]) == ("Acme", "Data Analyst")
    assert record["rejected_at"] == "2026-11-20T16:00:00+01:00"
    assert record["earliest_send_at"] == "2026-11-22T16:00:00+01:00"
    assert record["message_id"].startswith("<") and record["message_id"].endswith(
        "@example.com>")
    assert record["findings"] == [] and record["attempts"] == 0


def test_default_areas_are_used_when_none_chosen(run: Run) -> None:
    record = json.loads(run(*BASE, "--json", ok=True).stdout)
    assert record["body"].count("?") == 2


def test_own_question_and_tone_and_no_future(run: Run) -> None:
    record = json.loads(run(*BASE, "--question", "which SQL topics should I practise",
                            "--tone", "formal", "--no-future", "--json", ok=True).stdout)
    assert "Which SQL topics should I practise?" in record["body"]
    assert record["body"].startswith("Dear Priya Shah,")
    assert "future" not in record["body"].lower()


def test_thank_you_only_asks_nothing(run: Run) -> None:
    record = json.loads(run(*BASE, "--thank-you-only", "--json", ok=True).stdout)
    assert "?" not in record["body"] and "thank" in record["body"].lower()


@pytest.mark.parametrize(
    ("args", "expected_error"),
    [
        (("--to", "priya@"), "--to: 'priya@' is not a valid email address"),
        (("--to", "Priya <priya@example.com>, Sam <sam@example.com>"),
         "--to: give exactly one address"),
        (("--to", "Priya\r\nBcc: all@example.com <priya@example.com>"), "--to:"),
        (("--to", "Priya <priya@example.com>", "--org", "Acme\nBcc: x@evil.example"),
         "--org: contains a line break or control character"),
        (("--to", PRIYA, "--role", "Analyst\x00"), "--role:"),
        (("--to", PRIYA, "--role", "=?utf-8?q?Analyst=0ABcc=3A_x@evil.example?="), "--role:"),
        (("--to", PRIYA, "--rejected", "2099-01-01"), "--rejected: "),
        (("--to", PRIYA, "--rejected", "yesterday"),
         "--rejected: 'yesterday' is not an ISO 8601 date or date-time"),
        (("--to", PRIYA, "--ask", "nonsense"),
         "--ask: unknown focus area 'nonsense' for scenario 'interview'; choose from: "
         "interview-skill-gap, interview-clarity"),
        (("--to", PRIYA, "--ask", "interview-system-design", "--ask", "interview-clarity",
          "--question", "What else?", "--question", "And this?"),
         "4 questions chosen, at most 3"),
        (("--to", PRIYA, "--scenario", "audition"),
         "--scenario: unknown scenario 'audition'; choose one of admissions, application, "
         "grant, interview"),
        (("--to", PRIYA, "--tone", "angry"), "Invalid value for '--tone'"),
        (("--org", "Acme"), "--to: whom should the request go to?"),
        (("--to", PRIYA, "--rejected", "2026-11-20", "--at", "2026-11-21T10:00"),
         "--at: 2026-11-21T10:00:00+01:00 is before the cooling-off ends; the earliest "
         "allowed time is 2026-11-22T00:00:00+01:00"),
        (("--to", PRIYA, "--schedule", "--at", "2026-12-01T10:00"), "choose one"),
        (("--to", PRIYA, "--from-eml", "/no/such/file.eml"), "--from-eml: cannot read"),
        (("--to", PRIYA, "--thank-you-only", "--ask", "interview-clarity"),
         "--thank-you-only asks no questions"),
        (("--to", PRIYA, "--bogus"), "No such option '--bogus'"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(run: Run, config_file: Path,
                                                   args: tuple[str, ...],
                                                   expected_error: str) -> None:
    result = run("new", *args)
    assert result.exit_code == 2, result.output
    assert expected_error in result.stderr
    assert "Traceback" not in result.output
    assert stored(run) == []


def test_queueing_without_a_sender_is_refused_before_storing(run: Run) -> None:
    result = run(*BASE, "--schedule")
    assert result.exit_code == 2
    assert "no sender configured" in result.stderr
    assert stored(run) == []


def test_tone_errors_block_scheduling_but_keep_the_draft(run: Run, config_file: Path) -> None:
    result = run(*BASE, "--question", "Why didn't I get the job?", "--schedule")
    assert result.exit_code == 1
    assert "saved as a draft but not queued" in result.stderr
    assert "draft-feedback edit 1" in result.stderr
    [record] = stored(run)
    assert record["status"] == "draft"
    assert any(f["severity"] == "error" for f in record["findings"])
    again = run("schedule", "1")
    assert again.exit_code == 1 and "tone check" in again.stderr


@time_machine.travel(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN), tick=False)
def test_schedule_waits_for_cooling_off_then_the_send_window(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="")
    record = json.loads(run("new", "--to", PRIYA, "--rejected", "2026-11-27T16:00",
                            "--schedule", "--json", ok=True).stdout)
    # Friday 16:00 + 48 h is Sunday 16:00, outside Monday-to-Friday 09:00-17:00.
    assert record["earliest_send_at"] == "2026-11-29T16:00:00+01:00"
    assert record["send_at"] == "2026-11-30T09:00:00+01:00"
    listing = run("list", ok=True).stdout
    assert "Mon 2026-11-30 09:00 CET" in listing and "scheduled" in listing


@time_machine.travel(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN), tick=False)
def test_at_is_kept_as_given_and_refused_inside_the_cooling_off(run: Run,
                                                               config_file: Path) -> None:
    run("new", "--to", PRIYA, "--rejected", "2026-11-27T16:00", ok=True)
    early = run("schedule", "1", "--at", "2026-11-28T10:00")
    assert early.exit_code == 2
    assert "the earliest allowed time is 2026-11-29T16:00:00+01:00" in early.stderr
    assert stored(run)[0]["status"] == "draft"
    late = json.loads(run("schedule", "1", "--at", "2026-11-29T22:30", "--json",
                          ok=True).stdout)
    assert late["send_at"] == "2026-11-29T22:30:00+01:00"
    moved = json.loads(run("schedule", "1", "--json", ok=True).stdout)
    assert moved["send_at"] == "2026-11-29T16:00:00+01:00"  # send_window is off here


def test_cancel_and_state_errors(run: Run, config_file: Path) -> None:
    run(*BASE, ok=True)
    assert "cancelled" in run("cancel", "1", ok=True).stdout
    assert stored(run)[0]["status"] == "cancelled"
    again = run("schedule", "1")
    assert again.exit_code == 2 and "request 1 is cancelled" in again.stderr
    retry = run("retry", "1")
    assert retry.exit_code == 2 and "only a request that is interrupted or failed" in (
        retry.stderr)
    missing = run("show", "42")
    assert missing.exit_code == 2 and "no request with id 42" in missing.stderr


def test_show_views(run: Run, config_file: Path) -> None:
    run(*BASE, ok=True)
    text = run("show", "1", ok=True).stdout
    assert "Request 1 (draft" in text and "Earliest send:" in text
    eml = run("show", "1", "--eml", ok=True).stdout_bytes
    assert b"\r\nTo: Priya Shah <priya@example.com>\r\n" in eml
    assert b"From: Alex Rivera <alex@example.com>\r\n" in eml
    both = run("show", "1", "--json", "--eml")
    assert both.exit_code == 2


def test_edit_runs_the_editor_and_checks_again(run: Run, config_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run(*BASE, ok=True)
    script = tmp_path / "editor.py"
    script.write_text(textwrap.dedent("""\
        import sys
        path = sys.argv[1]
        text = open(path).read().replace("Hi Priya,",
                                         "Hi Priya, please RECONSIDER!! I was SO READY.")
        text = text.replace("Subject: ", "Subject: Edited: ")
        open(path, "w").write(text)
        """))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run("edit", "1", ok=True)
    assert "please RECONSIDER!!" in result.stdout
    record = stored(run)[0]
    assert record["subject"].startswith("Edited: ")
    assert {f["trap"] for f in record["findings"]} >= {"framing", "shouting"}


def test_new_edit_opens_the_editor_before_anything_is_saved(
        run: Run, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "editor.py"
    script.write_text("import sys, os\np = sys.argv[1]\nopen(os.environ['SEEN'], 'w').write("
                      "str(len(open(os.environ['DB']).read()) if os.path.exists(os.environ['DB'])"
                      " else 'no outbox'))\nt = open(p).read().replace('Hi Priya,', "
                      "'Hello Priya,')\nopen(p, 'w').write(t)\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.setenv("SEEN", str(tmp_path / "seen"))
    monkeypatch.setenv("DB", str(tmp_path / "home" / "outbox.sqlite3"))
    record = json.loads(run(*BASE, "--edit", "--json", ok=True).stdout)
    assert record["body"].startswith("Hello Priya,")
    assert (tmp_path / "seen").read_text() == "no outbox"
    assert stored(run)[0]["body"].startswith("Hello Priya,")


def test_new_edit_with_a_broken_subject_stores_nothing(
        run: Run, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "editor.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p).read().replace('Subject: ', "
                      "'Topic: ')\nopen(p, 'w').write(t)\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run(*BASE, "--edit")
    assert result.exit_code == 2 and "Subject:" in result.stderr
    assert stored(run) == []


def test_editing_a_queued_request_into_hurtful_wording_takes_it_back_to_draft(
        run: Run, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(*BASE, "--schedule", ok=True)
    assert stored(run)[0]["status"] == "scheduled"
    script = tmp_path / "editor.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p).read().replace('Hi Priya,', "
                      "'Hi Priya, this was completely unfair.')\nopen(p, 'w').write(t)\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    run("edit", "1", ok=True)
    record = stored(run)[0]
    assert record["status"] == "draft" and record["send_at"] is None


def test_edit_refuses_a_header_injection(run: Run, config_file: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    run(*BASE, ok=True)
    before = stored(run)[0]
    script = tmp_path / "editor.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p).read().replace("
                      "'Subject: ', 'Subject: =?utf-8?q?x=0ABcc=3A_a@evil.example?= ')\n"
                      "open(p, 'w').write(t)\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run("edit", "1")
    assert result.exit_code == 2
    assert stored(run)[0]["subject"] == before["subject"]


def test_areas_lists_ids_labels_and_questions(run: Run) -> None:
    out = run("areas", "--scenario", "submission", ok=True).stdout
    # The old scenario name shows the manuscript areas that replaced it.
    assert "manuscript-opening" in out
    assert "Where the opening lost you" in out
    assert run("areas", "--scenario", "nope").exit_code == 2


@pytest.mark.parametrize(
    ("text", "code", "rule"),
    [
        ("Why didn't I get the job?\n", 1, "demanding-why"),
        ("Thank you for your time. What could I strengthen for next time?\n", 0, None),
    ],
)
def test_check_reads_stdin_and_prints_findings(run: Run, text: str, code: int,
                                               rule: str | None) -> None:
    result = run("check", "-", "--json", input=text)
    assert result.exit_code == code
    findings = json.loads(result.stdout)
    if rule is None:
        assert findings == []
    else:
        assert findings[0]["rule"] == rule
        assert set(findings[0]) == {"rule", "trap", "severity", "line", "column", "excerpt",
                                    "message", "suggestion"}
        assert findings[0]["line"] == 1 and findings[0]["column"] == 1


def test_check_file_and_missing_file(run: Run, tmp_path: Path) -> None:
    letter = tmp_path / "letter.txt"
    letter.write_text("Thanks so much.\nI know I'm a failure.\n")
    result = run("check", str(letter))
    assert result.exit_code in (0, 1) and "line 2" in result.stdout
    huge = run("check", "-", input="x" * 1_000_001)
    assert huge.exit_code == 2 and "standard input: 1,000,001 characters" in huge.stderr
    binary = run("check", "-", input=b"\xff\xfe")
    assert binary.exit_code == 2 and "not UTF-8 text" in binary.stderr
    missing = run("check", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_templates_list_show_copy(run: Run, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(f"templates_dir: {tmp_path / 'mine'}\n")
    listing = run("templates", "list", ok=True).stdout
    assert "interview.txt.j2  (built-in)" in listing
    assert "{{" in run("templates", "show", "interview.txt.j2", ok=True).stdout
    copied = run("templates", "copy", "interview.txt.j2", ok=True)
    assert (tmp_path / "mine" / "interview.txt.j2").is_file()
    assert "Copied to" in copied.stdout
    again = run("templates", "copy", "interview.txt.j2")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert run("templates", "copy", "interview.txt.j2", "--force").exit_code == 0
    assert "yours" in run("templates", "list", ok=True).stdout
    assert run("templates", "show", "../../etc/passwd").exit_code == 2
    assert run("templates", "copy", "catalog.yaml").exit_code == 2


def test_config_init_check_path(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    assert "no config file" in run("config", "check", ok=True).stdout
    me = ("--name", "Ana López", "--email", "ana@example.org")
    run("config", "init", *me, ok=True)
    assert "sender:" in target.read_text()
    refused = run("config", "init", *me)
    assert refused.exit_code == 2 and "already exists" in refused.stderr
    run("config", "init", *me, "--force", ok=True)
    assert "OK" in run("config", "check", ok=True).stdout
    path = run("config", "path", ok=True).stdout
    assert str(target) in path and "outbox.sqlite3" in path
    target.write_text("smtp:\n  port: lots\n")
    bad = run("config", "check")
    assert bad.exit_code == 2
    assert f"{target}:2: smtp.port: expected a whole number" in bad.stderr


def test_malformed_config_is_exit_2_for_every_command(run: Run, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("cooling_off: {hours: 6}\n")
    result = run(*BASE)
    assert result.exit_code == 2
    assert "cooling_off.hours: 6 hours is too short" in result.stderr


def test_global_options_choose_config_and_home(run: Run, tmp_path: Path) -> None:
    other = write_config(tmp_path / "other.yaml")
    home = tmp_path / "elsewhere"
    run("--config", str(other), "--home", str(home), *BASE, ok=True)
    assert (home / "outbox.sqlite3").is_file()


def test_login_prompts_hidden_and_logout(run: Run, config_file: Path, memory_keyring) -> None:
    result = run("login", input="s3cret\n", ok=True)
    assert "s3cret" not in result.stdout
    assert memory_keyring.store[("draft-feedback", "alex@example.com")] == "s3cret"
    assert "removed" in run("logout", ok=True).stdout
    assert "No password" in run("logout", ok=True).stdout
    assert run("login", "--password-stdin", input="\n").exit_code == 2


def test_login_needs_a_user(run: Run) -> None:
    result = run("login", "--password-stdin", input="x\n")
    assert result.exit_code == 2 and "--user" in result.stderr


def test_reply_records_text_and_eml(run: Run, config_file: Path, tmp_path: Path) -> None:
    run(*BASE, ok=True)
    early = run("reply", "1", "-", input="Thanks!\n")
    assert early.exit_code == 2 and "request 1 is draft" in early.stderr


def test_guided_flow_with_typed_answers(run: Run, config_file: Path) -> None:
    answers = "\n".join([
        "They said my system design answer was thin",  # feedback given
        "", "", "",  # other reflection questions skipped
        "interview",  # scenario
        "",  # no .eml
        PRIYA, "Acme", "Data Analyst", "2026-11-20T16:00",
        "n",  # not thank-you only
        "",  # accept suggested areas
        "",  # no own question
        "the pairing exercise",
        "warm",
        "y",  # future
        "n",  # do not schedule now
    ]) + "\n"
    result = run("new", "--guided", input=answers, ok=True)
    assert "(suggested by your answers)" in result.stdout
    [record] = stored(run)
    assert record["status"] == "draft"
    assert "system-design" in record["body"]
    assert record["reflection"]["feedback-given"].startswith("They said")
    shown = run("show", "1", ok=True).stdout
    assert "Your reflection (private, never sent):" in shown


def test_list_pages_the_newest_and_still_names_older_work(run: Run,
                                                          private_paths: Path) -> None:
    run(*BASE, ok=True)
    db = sqlite3.connect(private_paths / "outbox.sqlite3")
    columns = ", ".join(r[1] for r in db.execute("PRAGMA table_info(requests)") if r[1] != "id")
    for _ in range(LIST_PAGE + 2):
        db.execute(f"INSERT INTO requests ({columns}) SELECT {columns} FROM requests WHERE id = 1")
    db.execute("UPDATE requests SET status = 'failed' WHERE id = 1")
    db.commit()
    db.close()
    listing = run("list", ok=True).stdout.splitlines()
    assert [line.split()[0] for line in listing[1:LIST_PAGE + 1]] == [
        str(i) for i in range(4, LIST_PAGE + 4)]
    # Off the page, the failed request still gets its hint; the footer says how to see more.
    assert any(line.startswith("  1: ") and "retry 1" in line for line in listing)
    assert listing[-1].startswith("3 older requests not shown; `draft-feedback list --all`")
    page = run("list", "--json", ok=True)
    assert len(json.loads(page.stdout)) == LIST_PAGE and "3 older" in page.stderr
    assert len(json.loads(run("list", "--all", "--json", ok=True).stdout)) == LIST_PAGE + 3
    assert [r["id"] for r in json.loads(run("list", "--limit", "2", "--json").stdout)] == [
        LIST_PAGE + 2, LIST_PAGE + 3]
    both = run("list", "--all", "--limit", "2")
    assert both.exit_code == 2 and "choose one of --limit and --all" in both.stderr


@pytest.mark.parametrize(
    ("config", "scenario", "earliest"),
    [
        ("", "interview", "2026-11-22T16:00:00+01:00"),  # the global 48 hours
        ("cooling_off: {hours: 96}\n", "interview", "2026-11-24T16:00:00+01:00"),
        ("scenarios:\n  interview: {cooling_off_hours: 30}\n", "interview",
         "2026-11-21T22:00:00+01:00"),  # the user's own setting for the scenario wins
        ("", "promotion", "2026-11-23T16:00:00+01:00"),  # built-in: 72 hours for a promotion
        ("cooling_off: {hours: 96}\n", "promotion", "2026-11-24T16:00:00+01:00"),
    ],
)
def test_cooling_off_per_scenario(run: Run, tmp_path: Path, config: str, scenario: str,
                                  earliest: str) -> None:
    write_config(tmp_path / "config.yaml", extra=config)
    record = json.loads(run("new", "--to", PRIYA, "-s", scenario, "--rejected",
                            "2026-11-20T16:00", "--json", ok=True).stdout)
    assert record["earliest_send_at"] == earliest


# --- an editor that cannot work, or saves what cannot be used --------------------------------

EDITORS = [
    # (editor script, or None for EDITOR and VISUAL empty; the error)
    pytest.param(None, "no editor to open: EDITOR is empty and there is no terminal",
                 id="editor-empty-no-terminal"),
    pytest.param("open(p, 'wb').write('Subject: Caf\\xe9\\n\\nHi Priya, d\\xe9j\\xe0 vu\\n'"
                 ".encode('latin-1'))", "the editor saved text that is not UTF-8",
                 id="latin-1-text"),
    pytest.param("open(p, 'w').write('Subject: Hi\\n\\n' + 'word ' * 800_000)",
                 "a request is a short email, keep it under 100,000", id="four-megabyte-body"),
    pytest.param("open(p, 'w').write('Subject: ' + 'x' * 200_000 + '\\n\\nHi\\n')",
                 "the subject is 200,000 characters", id="huge-subject"),
]


@pytest.mark.parametrize(("script", "expected_error"), EDITORS)
@pytest.mark.parametrize("command", [("edit", "1"), (*BASE, "--edit")], ids=["edit", "new"])
def test_an_editor_that_cannot_be_used_is_a_clear_error(
        run: Run, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        script: str | None, expected_error: str, command: tuple[str, ...]) -> None:
    import time

    run(*BASE, ok=True)
    before = stored(run)
    if script is None:
        monkeypatch.setenv("EDITOR", "")
        monkeypatch.setenv("VISUAL", "")
    else:
        editor = tmp_path / "editor.py"
        editor.write_text(f"import sys\np = sys.argv[1]\n{script}\n")
        monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
        monkeypatch.delenv("VISUAL", raising=False)
    started = time.monotonic()
    result = run(*command)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2, result.output
    assert expected_error in result.stderr
    assert "nothing was changed" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.output
    assert stored(run) == before


@pytest.mark.parametrize("command", ["show", "edit", "schedule", "cancel", "retry", "reply",
                                     "thank", "reflect"])
@pytest.mark.parametrize(("given", "problem"), [
    ("99999999999999999999999", "no request has the id 99999999999999999999999; ids are whole "
                                "numbers from 1 (`draft-feedback list` shows them)"),
    ("0", "no request has the id 0; ids are whole numbers from 1"),
    ("٣", "'٣' is not a request id; ids are whole numbers such as 7"),
    ("seven", "'seven' is not a request id"),
])
def test_an_impossible_id_is_named_before_anything_is_read(
        run: Run, config_file: Path, command: str, given: str, problem: str) -> None:
    result = run(command, given, *(["-"] if command == "reply" else []), input="x\n")
    assert result.exit_code == 2
    assert f"Error: Invalid value for 'ID': {problem}" in result.stderr


def test_a_huge_list_limit_shows_everything(run: Run, config_file: Path) -> None:
    run(*BASE, ok=True)
    result = run("list", "--limit", "99999999999999999999999", "--json", ok=True)
    assert [r["id"] for r in json.loads(result.stdout)] == [1]


def test_every_status_can_be_listed(run: Run, config_file: Path) -> None:
    from draft_feedback import cli as cli_module
    from draft_feedback import outbox

    assert cli_module.STATES == outbox.STATES
    result = run("list", "--status", "held", ok=True)
    assert "held" not in result.stderr
