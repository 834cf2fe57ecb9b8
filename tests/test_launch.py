"""The console entry point: help and version from the cache equal Click's, and a quick exit."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from draft_feedback import launch
from draft_feedback.cache import cache_dir

COMMAND = str(Path(sys.executable).with_name("draft-feedback"))
REQUESTS = (["--help"], ["new", "--help"], ["config", "init", "--help"], ["-h"], ["--version"])


def click_output(argv: list[str], columns: int) -> str:
    """What Click itself prints for argv at a terminal width, in a process of its own."""
    code = f"from draft_feedback.cli import main\nmain({argv!r})\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, COLUMNS=str(columns)), timeout=60)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return done.stdout


def installed(argv: list[str], columns: int | None = None,
              **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command as a user would."""
    environ = dict(os.environ, **env)
    if columns is not None:
        environ["COLUMNS"] = str(columns)
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, env=environ,
                          stdin=subprocess.DEVNULL, timeout=60)


WIDTHS = (40, 72, 90, 160)  # Click formats at 50, 70, 88 and 98 columns


@pytest.mark.slow
@pytest.mark.parametrize("argv", REQUESTS, ids=" ".join)
def test_cached_text_equals_clicks_output_at_each_width(
        argv: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for columns in WIDTHS:  # fill the cache for every width first: no entry may hide another
        monkeypatch.setenv("COLUMNS", str(columns))
        key = launch.request_key(argv)
        assert launch.cached_text(key) is None
        assert launch._answer_and_keep(argv, key) == 0
        assert capsys.readouterr().out
    texts = set()
    for columns in WIDTHS:
        monkeypatch.setenv("COLUMNS", str(columns))
        expected = click_output(argv, columns)
        assert launch.cached_text(launch.request_key(argv)) == expected
        texts.add(expected)
    # The width matters to help (a short one may read the same at two widths), not to version.
    assert len(texts) == 1 if argv == ["--version"] else len(texts) >= 3


def test_each_width_and_language_has_its_own_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = set()
    for columns, language in ((80, "en"), (81, "en"), (80, "de")):
        monkeypatch.setenv("COLUMNS", str(columns))
        monkeypatch.setenv("LANGUAGE", language)
        keys.add(launch.request_key(["--help"]))
    assert len(keys) == 3


@pytest.mark.slow
def test_installed_help_is_clicks_and_the_second_run_skips_click(tmp_path: Path) -> None:
    for columns in (50, 120):
        first = installed(["--help"], columns)
        second = installed(["--help"], columns)
        assert first.returncode == second.returncode == 0
        assert first.stdout == second.stdout == click_output(["--help"], columns)
        assert first.stderr == second.stderr == ""
    assert installed(["--version"]).stdout == "draft-feedback, version 0.1.0\n"
    # Served from the cache, the answer never imports Click, nor typing (with re, a third of
    # the rest): the atexit handler (run by the quick exit) reports what was loaded.
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print(any(m in sys.modules for m in "
             "('click', 'typing')), file=sys.stderr))\n"
             "sys.argv = ['draft-feedback', '--help']\n"
             "from draft_feedback.launch import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=dict(os.environ, COLUMNS="50"), timeout=60)
    assert (done.returncode, done.stderr) == (0, "False\n")
    assert done.stdout == click_output(["--help"], 50)


def test_stale_text_from_other_code_is_replaced(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from draft_feedback.cache import write

    monkeypatch.setenv("COLUMNS", "80")
    key = launch.request_key(["--help"])
    # Text kept by another version of the commands: its stamp is not this code's.
    assert write("help", key, b"0123456789abcdef\nUsage: an old draft-feedback\n")
    assert launch.cached_text(key) is None
    launch._answer_and_keep(["--help"], key)
    assert capsys.readouterr().out.startswith("Usage: draft-feedback [OPTIONS] [COMMAND]")
    assert launch.cached_text(key) == click_output(["--help"], 80)


def test_the_source_key_follows_the_text_of_the_commands(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "draft_feedback"
    package.mkdir()
    (package / "cli.py").write_text('"""Old help."""\n', encoding="utf-8")
    monkeypatch.setattr(launch, "__file__", str(package / "launch.py"))
    before = launch.source_key()
    (package / "cli.py").write_text('"""New help."""\n', encoding="utf-8")
    os.utime(package / "cli.py", ns=(0, 0))  # even with an old modification time
    assert launch.source_key() != before


@pytest.mark.slow
def test_a_cache_folder_that_cannot_be_written_never_fails_a_command(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go\n", encoding="utf-8")
    for _ in range(2):
        done = installed(["--help"], 80, XDG_CACHE_HOME=str(blocker))
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == click_output(["--help"], 80)
    listing = installed(["list"], XDG_CACHE_HOME=str(blocker))
    assert (listing.returncode, listing.stderr) == (0, "")


@pytest.mark.slow
def test_the_quick_exit_keeps_exit_codes_and_leaves_the_outbox_in_one_file(
        private_paths: Path) -> None:
    assert installed(["show", "7"]).returncode == 2
    done = installed(["new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme",
                      "--json"])
    assert done.returncode == 0, done.stderr
    assert '"status": "draft"' in done.stdout
    # The outbox was closed at exit: its log is folded into the file, which alone holds it.
    assert not (private_paths / "outbox.sqlite3-wal").exists()
    with sqlite3.connect(private_paths / "outbox.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM requests").fetchone() == (1,)


def test_cache_folder_follows_xdg_cache_home(tmp_path: Path) -> None:
    assert cache_dir() == str(tmp_path / "xdg-cache" / "draft-feedback")


# A process that notices its own teardown: `kept` is dropped only when the interpreter tears
# its modules down, which the quick exit skips.
WATCHED = """
import sys, threading, time
from draft_feedback import launch

class Teardown:
    def __del__(self):
        sys.__stderr__.write("torn down\\n")

kept = Teardown()
"""
LEAVE_WITH_THREAD = WATCHED + """
worker = threading.Thread(target=lambda: (time.sleep(0.3), print("worked")), daemon={daemon})
worker.start()
launch.leave(3)
"""


@pytest.mark.parametrize("daemon", [True, False])
def test_the_quick_exit_skips_teardown_unless_a_thread_is_still_working(daemon: bool) -> None:
    done = subprocess.run([sys.executable, "-c", LEAVE_WITH_THREAD.format(daemon=daemon)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    if daemon:  # like the deadline watchdog: nobody waits for it, and nothing is torn down
        assert (done.stdout, done.stderr) == ("", "")
    else:  # the ordinary exit waits for the worker
        assert (done.stdout, done.stderr) == ("worked\n", "torn down\n")


def test_a_draft_leaves_by_the_quick_exit_though_its_watchdog_runs() -> None:
    code = WATCHED + (
        "from draft_feedback.deadline import deadline\n"
        "with deadline(5, TimeoutError):\n"
        "    pass  # as every render does: the watchdog thread now runs\n"
        "assert threading.active_count() == 2\n"
        "launch.leave(0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_commands_run_with_a_larger_youngest_generation(tmp_path: Path) -> None:
    code = ("import atexit, gc, sys\n"
            "from draft_feedback import launch\n"
            "sys.argv = ['draft-feedback', 'list', '--json']\n"
            "atexit.register(lambda: print(gc.get_threshold(), gc.isenabled(),\n"
            "                              gc.get_freeze_count() > 10_000))\n"
            "launch.main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, DRAFT_FEEDBACK_HOME=str(tmp_path)))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"[]\n({launch.GC_YOUNG}, 10, 10) True True\n"
