"""The cron tick with nothing to do: answered without Click, exactly as the full command answers.

Each state of the outbox and the config is made once, copied, and `send-due` runs on one copy
as installed and on the other with the fast path turned off (DRAFT_FEEDBACK_NO_FAST_TICK=1):
exit code, standard output (the times at the start of each line aside) and standard error must
be the same, and so must the outbox afterwards. A third copy tells which path answered.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from draft_feedback.outbox import utc_text

from conftest import PRIYA, SMTPServer, free_port, write_config

COMMAND = str(Path(sys.executable).with_name("draft-feedback"))
SWITCH = "DRAFT_FEEDBACK_NO_FAST_TICK"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ", re.MULTILINE)
# Reports, at exit, whether Click was loaded: the console command's own entry point.
PROBE = ("import atexit, os, sys\n"
         "atexit.register(lambda: open(os.environ['TICK_PROBE'], 'w').write(\n"
         "    ' '.join(m for m in ('click', 'jinja2', 'yagmail', 'keyring', 'email_validator')\n"
         "             if m in sys.modules)))\n"
         "sys.argv = ['draft-feedback', *sys.argv[1:]]\n"
         "from draft_feedback.launch import main\nmain()\n")

Outcome = tuple[int, str, str]


def environ(folder: Path, full: bool = False) -> dict[str, str]:
    """The environment of a run on the copy in `folder`."""
    env = dict(os.environ, DRAFT_FEEDBACK_HOME=str(folder / "home"),
               DRAFT_FEEDBACK_CONFIG=str(folder / "config.yaml"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.pop(SWITCH, None)
    if full:
        env[SWITCH] = "1"
    return env


def command(folder: Path, *argv: str, full: bool = False, tty: bool = False) -> Outcome:
    """Run the installed command on the copy in `folder`; stdout on a terminal if `tty`."""
    env = environ(folder, full)
    if not tty:
        done = subprocess.run([COMMAND, *argv], capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=60)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen([COMMAND, *argv], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal's other side closed: the command has ended
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait(timeout=60)
    return code, out.decode().replace("\r\n", "\n"), err.decode()


def masked(outcome: Outcome, folder: Path) -> Outcome:
    """The outcome with the time at the start of each line, and the copy's folder, marked."""
    code, out, err = outcome
    return (code, STAMP.sub("<time> ", out).replace(str(folder), "<copy>"),
            STAMP.sub("<time> ", err).replace(str(folder), "<copy>"))


def loaded(folder: Path, *argv: str) -> str:
    """Run the console entry point on the copy in `folder`; return the libraries it loaded."""
    mark = folder / "probe.txt"
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          env=dict(environ(folder), TICK_PROBE=str(mark)),
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode in (0, 1, 2), done.stderr
    return mark.read_text()


def rows(folder: Path) -> list[tuple[object, ...]]:
    """What the outbox in `folder` holds: its tables, and its requests without claim tokens
    and the times of this run."""
    path = folder / "home" / "outbox.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
        if ("table", "requests") in found:
            found += conn.execute("SELECT id, status, kind, parent_id, attempts, last_error, "
                                  "send_at IS NULL, sent_at IS NULL FROM requests "
                                  "ORDER BY id").fetchall()
    conn.close()
    return found


# --- the states -----------------------------------------------------------------------------


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="minutes")


def setup(folder: Path, *argv: str) -> str:
    """Run the full command once to make the state; return what it printed."""
    code, out, err = command(folder, *argv, full=True)
    assert code == 0, out + err
    return out


def update(folder: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(folder / "home" / "outbox.sqlite3") as conn:
        conn.execute(sql, params)
    conn.close()


def new(folder: Path, *extra: str, rejected: float = 3) -> None:
    setup(folder, "new", "--to", PRIYA, "--org", "Acme", "--role", "Data Analyst",
          "--rejected", days_ago(rejected), *extra)


def empty_outbox(folder: Path, server: SMTPServer) -> None:
    write_config(folder / "config.yaml", server)
    setup(folder, "list")


def no_outbox_yet(folder: Path, server: SMTPServer) -> None:
    write_config(folder / "config.yaml", server)


def a_draft(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    new(folder)


def queued_for_later(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    new(folder, "--schedule", rejected=0.5)  # the cooling-off ends tomorrow
    new(folder)  # and a draft beside it


def due_now(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    new(folder, "--schedule")


def retry_later(folder: Path, server: SMTPServer) -> None:
    due_now(folder, server)
    later = utc_text(datetime.now(UTC) + timedelta(hours=2))
    update(folder, "UPDATE requests SET attempts = 1, last_error = 'timed out', "
                   "next_try_at = ? WHERE id = 1", later)


def retry_due(folder: Path, server: SMTPServer) -> None:
    due_now(folder, server)
    update(folder, "UPDATE requests SET attempts = 1, last_error = 'timed out', "
                   "next_try_at = ? WHERE id = 1", utc_text(datetime.now(UTC)))


def follow_up_due(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    new(folder, "--schedule", "--follow-up", rejected=30)
    assert "1 sent" in setup(folder, "send-due")
    update(folder, "UPDATE requests SET sent_at = ? WHERE id = 1",
           utc_text(datetime.now(UTC) - timedelta(days=20)))


def follow_up_later(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    new(folder, "--schedule", "--follow-up", rejected=30)
    assert "1 sent" in setup(folder, "send-due")  # its follow-up is ten days away


def claimed_by_a_running_send(folder: Path, server: SMTPServer) -> None:
    due_now(folder, server)
    update(folder, "UPDATE requests SET status = 'sending', claim_token = 'x', claim_pid = ?, "
                   "claim_host = ?, claim_until = ? WHERE id = 1", os.getpid(),
           os.uname().nodename, utc_text(datetime.now(UTC) + timedelta(minutes=5)))


def left_sending_by_a_crash(folder: Path, server: SMTPServer) -> None:
    due_now(folder, server)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs
    update(folder, "UPDATE requests SET status = 'sending', claim_token = 'x', claim_pid = ?, "
                   "claim_host = ?, claim_until = ? WHERE id = 1", gone.pid,
           os.uname().nodename, utc_text(datetime.now(UTC) + timedelta(minutes=5)))


def waiting_for_the_window(folder: Path, server: SMTPServer) -> None:
    hour = datetime.now(ZoneInfo("Europe/Berlin")).hour
    start, end = ((hour + 2, hour + 3) if hour < 20 else (1, 2))
    window = (f"send_window: {{days: [mon, tue, wed, thu, fri, sat, sun], "
              f"start: '{start:02d}:00', end: '{end:02d}:00'}}")
    write_config(folder / "config.yaml", server, window=window)
    setup(folder, "list")
    new(folder, "--schedule")
    update(folder, "UPDATE requests SET send_at = ? WHERE id = 1",
           utc_text(datetime.now(UTC) - timedelta(hours=1)))


def imap_configured(folder: Path, server: SMTPServer) -> None:
    write_config(folder / "config.yaml", server,
                 extra=f"imap: {{port: {free_port()}, security: none, timeout: 5}}\n")
    setup(folder, "list")
    new(folder, "--schedule", rejected=0.5)


def config_error(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    (folder / "config.yaml").write_text("sender: {name: Alex, email: alex@example.com}\n"
                                        "cooling_off: {hours: 2}\n", encoding="utf-8")


def missing_config(folder: Path, server: SMTPServer) -> None:
    empty_outbox(folder, server)
    (folder / "config.yaml").unlink()


def other_programs_database(folder: Path, server: SMTPServer) -> None:
    write_config(folder / "config.yaml", server)
    (folder / "home").mkdir(mode=0o700)
    with sqlite3.connect(folder / "home" / "outbox.sqlite3") as conn:
        conn.execute("CREATE TABLE notes (x)")
    conn.close()


def read_only_outbox(folder: Path, server: SMTPServer) -> None:
    queued_for_later(folder, server)
    (folder / "home" / "outbox.sqlite3").chmod(0o400)


def case(state: Callable[[Path, SMTPServer], None], argv: list[str], tty: bool, fast: bool,
         *marks: pytest.MarkDecorator) -> object:
    """One row: the state, the arguments, on a terminal or not, answered without Click or not."""
    return pytest.param(state, argv, tty, fast, marks=marks,
                        id=f"{state.__name__}-{' '.join(argv)}{'-tty' if tty else ''}")


ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
CASES = [
    case(empty_outbox, ["send-due"], False, True),
    case(empty_outbox, ["send-due", "--quiet"], False, True),
    case(empty_outbox, ["send-due"], True, True),
    case(no_outbox_yet, ["send-due"], False, False),
    case(a_draft, ["send-due"], False, True),
    case(a_draft, ["send-due", "-q"], False, True),
    case(queued_for_later, ["send-due"], False, True),
    case(queued_for_later, ["send-due"], True, True),
    case(queued_for_later, ["send-due", "--quiet"], True, True),
    case(retry_later, ["send-due"], False, True),
    case(missing_config, ["send-due"], False, True),
    case(due_now, ["send-due"], False, False),
    case(due_now, ["send-due", "--quiet"], False, False),
    case(retry_due, ["send-due"], False, False),
    case(follow_up_due, ["send-due"], False, False),
    case(follow_up_later, ["send-due"], False, True),
    case(claimed_by_a_running_send, ["send-due"], False, False),
    case(left_sending_by_a_crash, ["send-due"], False, False),
    case(left_sending_by_a_crash, ["send-due", "-q"], True, False),
    case(waiting_for_the_window, ["send-due"], False, False),
    case(imap_configured, ["send-due"], False, False),
    case(config_error, ["send-due"], False, False),
    case(config_error, ["send-due", "--quiet"], True, False),
    case(other_programs_database, ["send-due"], False, False),
    case(queued_for_later, ["send-due", "--dry-run"], False, False),
    case(queued_for_later, ["send-due", "--quiet", "--quiet"], False, False),
    case(read_only_outbox, ["send-due"], False, False, ROOT),
]


@pytest.mark.slow
@pytest.mark.parametrize(("state", "argv", "tty", "fast"), CASES)
def test_the_tick_prints_and_stores_what_the_full_command_does(
        tmp_path: Path, smtp_server: SMTPServer, state: Callable[[Path, SMTPServer], None],
        argv: list[str], tty: bool, fast: bool) -> None:
    made = tmp_path / "state"
    made.mkdir()
    state(made, smtp_server)
    copies = {name: tmp_path / name for name in ("tick", "full", "probe")}
    for copy in copies.values():
        shutil.copytree(made, copy)
    before = len(smtp_server.received)

    tick = command(copies["tick"], *argv, tty=tty)
    sent_by_tick = len(smtp_server.received) - before
    full = command(copies["full"], *argv, full=True, tty=tty)
    sent_by_full = len(smtp_server.received) - before - sent_by_tick

    assert masked(tick, copies["tick"]) == masked(full, copies["full"])
    assert rows(copies["tick"]) == rows(copies["full"])
    assert sent_by_tick == sent_by_full
    if fast and not tty and tick[1]:  # off a terminal every line starts with the time
        assert all(STAMP.match(line) for line in tick[1].splitlines())
    assert ("click" not in loaded(copies["probe"], *argv)) is fast


@pytest.mark.slow
def test_a_due_request_is_sent_once_and_the_next_tick_finds_nothing(
        tmp_path: Path, smtp_server: SMTPServer) -> None:
    due_now(tmp_path, smtp_server)

    code, out, err = command(tmp_path, "send-due")
    assert (code, err) == (0, "")
    assert STAMP.sub("", out) == "request 1: sent\n1 sent, 0 not sent.\n"
    assert len(smtp_server.received) == 1
    assert rows(tmp_path)[-1] == (1, "sent", "request", None, 1, None, 0, 0)

    for argv in (["send-due"], ["send-due", "--quiet"]):
        code, out, err = command(tmp_path, *argv)
        assert (code, err) == (0, "")
        assert STAMP.sub("", out) == ("" if "--quiet" in argv else
                                      "0 sent, 0 not sent.\nNothing is queued.\n")
    assert len(smtp_server.received) == 1
    assert loaded(tmp_path, "send-due") == ""


@pytest.mark.slow
def test_the_tick_loads_no_click_and_no_mail_or_template_library(
        tmp_path: Path, smtp_server: SMTPServer) -> None:
    queued_for_later(tmp_path, smtp_server)
    assert loaded(tmp_path, "send-due") == ""
    assert loaded(tmp_path, "send-due", "-q") == ""
    code, out, _ = command(tmp_path, "send-due")
    assert code == 0
    assert re.fullmatch(r"0 sent, 0 not sent\.\nNext: request 1 at \w{3} \d{4}-\d\d-\d\d "
                        r"\d\d:\d\d CES?T\.\n", STAMP.sub("", out))
