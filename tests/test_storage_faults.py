"""Storage faults through the command line: a locked, foreign, damaged, read-only or old outbox.

Whatever is at the outbox path, draft-feedback either uses it as an outbox or stops with a clear
error naming it, exit 1, no traceback; it never overwrites or deletes a file that is not its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from draft_feedback import outbox as outbox_module
from draft_feedback.outbox import MIGRATIONS, Outbox, utc_text

from conftest import PRIYA, SMTPServer, write_config

Run = Callable[..., Result]
NEW = ("new", "--to", PRIYA, "--org", "Acme", "--rejected", "2026-01-05T16:00")
HOLD_LOCK = textwrap.dedent("""\
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("ROLLBACK")
    """)


def outbox_path(home: Path) -> Path:
    return home / "outbox.sqlite3"


def fingerprint(path: Path) -> tuple[str, int]:
    """The content and modification time of a file, to prove it was not touched."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def hold_lock(private_paths: Path) -> Iterator[Callable[[float], subprocess.Popen[str]]]:
    """Start another process that holds the outbox's write lock for some seconds."""
    holders: list[subprocess.Popen[str]] = []

    def start(seconds: float) -> subprocess.Popen[str]:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(outbox_path(private_paths)), str(seconds)],
            stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        holders.append(holder)
        return holder

    yield start
    for holder in holders:
        holder.kill()
        holder.communicate(timeout=30)


# --- locked by another process -------------------------------------------------------------


@pytest.mark.parametrize("command", [NEW, ("schedule", "1"), ("cancel", "1"), ("send-due",),
                                     ("list",), ("show", "1")])
def test_a_locked_outbox_waits_then_says_so(run: Run, config_file: Path, private_paths: Path,
                                            hold_lock: Callable[[float], object],
                                            monkeypatch: pytest.MonkeyPatch,
                                            command: tuple[str, ...]) -> None:
    run(*NEW, ok=True)
    before = fingerprint(outbox_path(private_paths))
    monkeypatch.setattr(outbox_module, "BUSY_TIMEOUT_MS", 400)
    hold_lock(30)
    started = time.monotonic()
    result = run(*command)
    waited = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "locked by another process" in result.stderr
    assert str(outbox_path(private_paths)) in result.stderr
    assert "waited 0.4 s" in result.stderr
    assert "Traceback" not in result.output and "unexpected" not in result.stderr
    assert waited >= 0.4
    assert fingerprint(outbox_path(private_paths)) == before


def test_a_lock_released_in_time_is_waited_for(run: Run, config_file: Path, private_paths: Path,
                                              hold_lock: Callable[[float], object]) -> None:
    run(*NEW, ok=True)
    hold_lock(0.5)
    started = time.monotonic()
    result = run(*NEW, "--json")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.3
    assert json.loads(result.stdout)["id"] == 2


# --- something else at the outbox path -----------------------------------------------------


def damaged_outbox(home: Path) -> None:
    """A real outbox with one of its pages overwritten."""
    box = Outbox(home)
    for _ in range(40):
        box.connect().execute(
            "INSERT INTO requests (scenario, tone, to_addr, subject, body, tz, rejected_at, "
            "earliest_send_at, created_at) VALUES ('interview', 'warm', 'a@example.com', ?, ?, "
            "'UTC', '2026-01-01T00:00:00.000000Z', '2026-01-03T00:00:00.000000Z', "
            "'2026-01-01T00:00:00.000000Z')", ("S" * 200, "B" * 2000))
    box.close()
    path = outbox_path(home)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 2:page * 6] = os.urandom(page * 4)
    path.write_bytes(bytes(data))


def foreign_database(home: Path) -> None:
    conn = sqlite3.connect(outbox_path(home))
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT)")
    conn.execute("INSERT INTO photos (caption) VALUES ('holiday')")
    conn.commit()
    conn.close()


def symlink_elsewhere(home: Path) -> None:
    target = home.parent / "notes.txt"
    target.write_text("my private notes\n")
    outbox_path(home).symlink_to(target)


FOREIGN = [
    pytest.param(lambda home: outbox_path(home).write_text("my tax return\n" * 200),
                 "not a draft-feedback outbox", id="text-file"),
    pytest.param(lambda home: outbox_path(home).write_bytes(os.urandom(8192)),
                 "not a draft-feedback outbox", id="random-bytes"),
    pytest.param(lambda home: outbox_path(home).write_bytes(
        b"SQLite format 3\x00" + os.urandom(8176)), "not a draft-feedback outbox",
                 id="sqlite-header-then-garbage"),
    pytest.param(damaged_outbox, "damaged", id="outbox-with-a-damaged-page"),
    pytest.param(foreign_database, "another program", id="another-programs-database"),
    pytest.param(symlink_elsewhere, "the outbox is a symbolic link", id="symlink-to-a-text-file"),
]


@pytest.mark.parametrize(("make", "expected_error"), FOREIGN)
@pytest.mark.parametrize("command", [NEW, ("list",), ("send-due",)])
def test_a_file_that_is_not_our_outbox_is_named_and_left_alone(
        run: Run, config_file: Path, private_paths: Path, make: Callable[[Path], None],
        expected_error: str, command: tuple[str, ...]) -> None:
    private_paths.mkdir(mode=0o700)
    make(private_paths)
    path = outbox_path(private_paths)
    target = path.resolve()
    before = fingerprint(target)
    result = run(*command)
    assert result.exit_code == 1, result.output
    assert str(path) in result.stderr
    assert expected_error in result.stderr
    assert "move it aside" in result.stderr
    assert "Traceback" not in result.output and "unexpected" not in result.stderr
    assert fingerprint(target) == before
    assert path.is_symlink() == (target != path)


def test_a_folder_at_the_outbox_path_is_named(run: Run, config_file: Path,
                                             private_paths: Path) -> None:
    outbox_path(private_paths).mkdir(parents=True)
    result = run(*NEW)
    assert result.exit_code == 1
    assert f"{outbox_path(private_paths)}: is a folder" in result.stderr
    assert outbox_path(private_paths).is_dir()


# --- a read-only data folder ----------------------------------------------------------------


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may enter, for running the command as an unprivileged user."""
    folder = Path(tempfile.mkdtemp(prefix="draft-feedback-ro-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def run_unprivileged(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command as a user who cannot write to `folder`'s data folder.

    As root (where permission bits are not enforced) it runs as `nobody` through setpriv;
    otherwise as the current user, with the write bits taken away.
    """
    env = dict(os.environ, DRAFT_FEEDBACK_HOME=str(folder / "home"),
               DRAFT_FEEDBACK_CONFIG=str(folder / "config.yaml"), HOME=str(folder))
    command = [str(Path(sys.executable).with_name("draft-feedback")), *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop privileges")
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def make_read_only(folder: Path, with_outbox: bool) -> Path:
    write_config(folder / "config.yaml").chmod(0o644)
    home = folder / "home"
    home.mkdir()
    if with_outbox:
        env = dict(os.environ, DRAFT_FEEDBACK_HOME=str(home),
                   DRAFT_FEEDBACK_CONFIG=str(folder / "config.yaml"))
        subprocess.run([str(Path(sys.executable).with_name("draft-feedback")), *NEW],
                       check=True, capture_output=True, env=env, timeout=60)
        outbox_path(home).chmod(0o444)
    home.chmod(0o555)
    return home


@pytest.mark.parametrize("with_outbox", [False, True], ids=["no-outbox-yet", "outbox-inside"])
@pytest.mark.parametrize("command", [NEW, ("list",)])
def test_a_read_only_data_folder_is_a_clear_error(open_dir: Path, with_outbox: bool,
                                                  command: tuple[str, ...]) -> None:
    home = make_read_only(open_dir, with_outbox)
    before = fingerprint(outbox_path(home)) if with_outbox else None
    result = run_unprivileged(open_dir, *command)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(f"Error: {outbox_path(home)}: cannot ")
    assert "check" in result.stderr and "--home" in result.stderr
    assert "Traceback" not in result.stderr
    if before is not None:
        assert fingerprint(outbox_path(home)) == before
    else:
        assert not outbox_path(home).exists()


# --- an outbox from an older or newer draft-feedback ----------------------------------------


def old_outbox(home: Path, migrations: int) -> None:
    """An outbox as an older release left it: the first `migrations` applied, two requests."""
    home.mkdir(mode=0o700, parents=True)
    conn = sqlite3.connect(outbox_path(home))
    conn.execute("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
                 "UNIQUE, applied_at TEXT NOT NULL)")
    for number, (name, sql) in enumerate(MIGRATIONS[:migrations], start=1):
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01')", (number, name))
    now = datetime.now(UTC)
    for address, status in (("priya@example.com", "scheduled"), ("sam@example.com", "sent")):
        conn.execute(
            "INSERT INTO requests (status, scenario, tone, to_name, to_addr, org, subject, body, "
            "tz, rejected_at, earliest_send_at, send_at, created_at, message_id, window_applies) "
            "VALUES (?, 'interview', 'warm', 'Priya Shah', ?, 'Acme', 'Thank you', "
            "'Hi,\nthank you.\n', 'Europe/Berlin', ?, ?, ?, ?, '<old.1@example.com>', 0)",
            (status, address, utc_text(now - timedelta(days=3)),
             utc_text(now - timedelta(days=1)), utc_text(now - timedelta(hours=1)),
             utc_text(now - timedelta(days=3))))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("migrations", range(1, len(MIGRATIONS)))
def test_an_outbox_from_an_older_release_is_migrated_and_keeps_working(
        run: Run, tmp_path: Path, private_paths: Path, smtp_server: SMTPServer,
        migrations: int) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    old_outbox(private_paths, migrations)
    listed = json.loads(run("list", "--json", ok=True).stdout)
    assert [(r["to"], r["status"]) for r in listed] == [
        ("Priya Shah <priya@example.com>", "scheduled"), ("Priya Shah <sam@example.com>", "sent")]
    assert "1 sent" in run("send-due", ok=True).stdout
    assert [m.rcpt_tos for m in smtp_server.received] == [["priya@example.com"]]
    with sqlite3.connect(outbox_path(private_paths)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY id")]
    assert names == [name for name, _ in MIGRATIONS]
    run(*NEW, ok=True)


def test_an_outbox_from_a_newer_release_is_refused_untouched(run: Run, config_file: Path,
                                                            private_paths: Path) -> None:
    old_outbox(private_paths, len(MIGRATIONS))
    with sqlite3.connect(outbox_path(private_paths)) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, '0099_from_the_future', "
                     "'2027-01-01')")
    before = fingerprint(outbox_path(private_paths))
    result = run("list")
    assert result.exit_code == 1
    assert "written by a newer draft-feedback" in result.stderr
    assert "upgrade draft-feedback" in result.stderr
    assert fingerprint(outbox_path(private_paths)) == before


# --- a data folder or outbox someone else could rewrite ------------------------------------

def _queue_one(run: Run) -> None:
    run(*NEW, "--schedule", ok=True)


SHARED = [
    # (what to do to the folder/outbox after a request is queued, text of the error)
    pytest.param(lambda home: home.chmod(0o777), "other users can write to the data folder "
                 "(mode 0777)", id="world-writable-folder"),
    pytest.param(lambda home: home.chmod(0o770), "other users can write to the data folder "
                 "(mode 0770)", id="group-writable-folder"),
    pytest.param(lambda home: outbox_path(home).chmod(0o666), "other users can write to the "
                 "outbox (mode 0666)", id="world-writable-outbox"),
    pytest.param(lambda home: os.chown(home, 65534, 65534), "the data folder belongs to "
                 "another user (uid 65534)", id="folder-of-another-user"),
    pytest.param(lambda home: os.chown(outbox_path(home), 65534, 65534), "the outbox belongs "
                 "to another user (uid 65534)", id="outbox-of-another-user"),
]


@pytest.mark.skipif(os.name == "nt" or os.geteuid() != 0,
                    reason="POSIX modes; giving a file away needs root")
@pytest.mark.parametrize(("make_shared", "expected_error"), SHARED)
def test_a_data_folder_others_could_rewrite_is_refused(
        run: Run, config_file: Path, private_paths: Path,
        make_shared: Callable[[Path], None], expected_error: str) -> None:
    _queue_one(run)
    before = fingerprint(outbox_path(private_paths))
    make_shared(private_paths)
    for command in (("list",), ("send-due",), (*NEW, "--schedule")):
        result = run(*command)
        assert result.exit_code == 1, command
        assert expected_error in result.stderr
        assert result.stderr.startswith(f"Error: {private_paths}")
        assert "--home" in result.stderr
        assert "Traceback" not in result.output
    assert fingerprint(outbox_path(private_paths)) == before


def test_a_symlinked_outbox_is_refused(run: Run, config_file: Path, private_paths: Path,
                                      tmp_path: Path) -> None:
    elsewhere = tmp_path / "planted.sqlite3"
    _queue_one(run)
    outbox_path(private_paths).rename(elsewhere)
    outbox_path(private_paths).symlink_to(elsewhere)
    before = fingerprint(elsewhere)
    for command in (("list",), ("send-due",)):
        result = run(*command)
        assert result.exit_code == 1
        assert f"{outbox_path(private_paths)}: the outbox is a symbolic link" in result.stderr
    assert fingerprint(elsewhere) == before


def test_a_dangling_symlink_is_not_followed_to_create_an_outbox(
        run: Run, config_file: Path, private_paths: Path, tmp_path: Path) -> None:
    private_paths.mkdir(mode=0o700)
    target = tmp_path / "where-an-attacker-reads.sqlite3"
    outbox_path(private_paths).symlink_to(target)
    result = run("list")
    assert result.exit_code == 1
    assert "is a symbolic link" in result.stderr
    assert not target.exists()


def test_an_absent_data_folder_is_created_private(run: Run, config_file: Path,
                                                 private_paths: Path) -> None:
    import stat

    run("list", ok=True)
    assert stat.S_IMODE(private_paths.stat().st_mode) == 0o700
    assert stat.S_IMODE(outbox_path(private_paths).stat().st_mode) == 0o600
