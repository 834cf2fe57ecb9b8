"""The console entry point: help and version from a cache, and an exit without teardown.

`draft-feedback --help` (or `COMMAND --help`, or `--version`) prints text that Click itself
produced on an earlier run with the same inputs: this version, the same source of the commands
and of Click, the same terminal width and the same language settings. Anything else, and every
cache miss, goes through Click as usual. A cron tick (`send-due`) that finds nothing to do is
answered without Click as well (tick.py); one with work to do, or any doubt, goes through Click.
At the end of a run the output is flushed and the atexit handlers run, then the process leaves
without tearing down every module one by one.
"""

from __future__ import annotations

import os
import sys

# The typing module pulls in re, collections and functools: a third of --help's own time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

PROG_NAME = "draft-feedback"
GC_YOUNG = 10_000  # objects made before the collector looks at the youngest ones
HELP_FLAGS = ("--help", "-h")
# What decides Click's wording (gettext) and the terminal's encoding.
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANG")


def main() -> NoReturn:
    """Run the command line as the installed `draft-feedback` does."""
    argv = sys.argv[1:]
    if is_help_request(argv):
        key = request_key(argv)
        text = cached_text(key)
        if text is not None:
            try:
                sys.stdout.write(text)
            except UnicodeEncodeError:
                pass  # a terminal that cannot show it: let Click decide what to print
            else:
                leave(0)
        leave(_answer_and_keep(argv, key))
    if argv[:1] == ["send-due"]:
        from draft_feedback import tick

        if tick.applies(argv):
            code = tick.answer(argv)
            if code is not None:
                leave(code)
    import gc

    from draft_feedback import generated

    generated.install()  # the record types' methods from kept code, not compiled again
    # Importing the commands makes tens of thousands of objects that live as long as the
    # process; the collector would walk them again and again while they are made. Made
    # without it, they are set aside once (freeze) so later collections skip them.
    gc.disable()
    try:
        from draft_feedback.cli import cli, run
    finally:
        gc.freeze()
        # A command goes on to import what it uses (Jinja for a draft): again objects that
        # stay. The youngest generation is collected after GC_YOUNG new objects rather than
        # 700: a new draft stops for the collector once instead of 26 times, and garbage in
        # cycles is still collected, a little later.
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        gc.enable()
    leave(run(cli.main, argv, PROG_NAME))


def is_help_request(argv: list[str]) -> bool:
    """True for `--version`, and for `--help` after nothing but command names."""
    if argv == ["--version"]:
        return True
    if not argv or argv[-1] not in HELP_FLAGS:
        return False
    return all(word[:1].isalpha() and word.replace("-", "").isalnum() for word in argv[:-1])


def terminal_columns() -> int:
    """Return the width Click will format for, found as shutil.get_terminal_size finds it."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80


def request_key(argv: list[str]) -> str:
    """Name the cache entry for this request: the arguments, the width and the locale."""
    from draft_feedback.cache import digest

    locale = "\0".join(f"{name}={os.environ.get(name, '')}" for name in LOCALE_VARS)
    return "help-" + digest("\0".join(argv).encode(), str(terminal_columns()).encode(),
                            locale.encode()) + ".txt"


def source_key() -> bytes:
    """Identify the code that makes the help: this version, our modules' text and Click's files.

    Our modules are hashed by content, so an edit in a checkout invalidates the text at once;
    Click is identified by its installed RECORD, which lists a hash of every one of its files.
    """
    from draft_feedback import __version__
    from draft_feedback.cache import digest

    here = os.path.dirname(os.path.abspath(__file__))
    parts = [__version__.encode()]
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), "rb") as handle:
                parts += [name.encode(), handle.read()]
    parts.append(click_record())
    return digest(*parts).encode()


def click_record() -> bytes:
    """Return the RECORD of the installed Click (its files' hashes), or b"" if none is found."""
    for folder in sys.path:
        if not os.path.isfile(os.path.join(folder or ".", "click", "__init__.py")):
            continue
        try:
            for name in os.listdir(folder or "."):
                if name.startswith("click-") and name.endswith(".dist-info"):
                    with open(os.path.join(folder or ".", name, "RECORD"), "rb") as handle:
                        return handle.read()
        except OSError:
            pass
        return os.fsencode(os.path.abspath(folder or "."))  # a copy of Click without a RECORD
    return b""


def cached_text(key: str) -> str | None:
    """Return the stored text for this request if it was made by the same code, else None."""
    from draft_feedback.cache import read

    data = read("help", key)
    if data is None:
        return None
    stamp, _, text = data.partition(b"\n")
    if stamp != source_key():
        return None
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _answer_and_keep(argv: list[str], key: str) -> int:
    """Let Click answer, print what it printed, and keep it if it is a plain answer."""
    import io

    from draft_feedback.cache import write
    from draft_feedback.cli import cli, run

    captured = io.StringIO()
    real = sys.stdout
    sys.stdout = captured
    try:
        code = run(cli.main, argv, PROG_NAME)
    finally:
        sys.stdout = real
    text = captured.getvalue()
    sys.stdout.write(text)
    if code == 0 and text:
        write("help", key, source_key() + b"\n" + text.encode("utf-8"))
    return code


def leave(code: int) -> NoReturn:
    """Flush, run the atexit handlers, and exit without the interpreter's module teardown.

    Tearing down every module and object is what a normal exit spends most of its last
    moments on; nothing of ours needs it once the output is flushed and the handlers
    (the outbox's close among them) have run.
    """
    import atexit

    _flush()
    if _working_threads():
        sys.exit(code)  # another thread may still be working: leave the ordinary way
    atexit._run_exitfuncs()
    _flush()
    os._exit(code)


def _working_threads() -> bool:
    """True if a thread other than this one is running that a normal exit would wait for.

    A daemon thread (the deadline watchdog, started by every draft) is not waited for by a
    normal exit either: it is stopped where it stands in both cases.
    """
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    main = threading.main_thread()
    return any(thread is not main and thread.is_alive() and not thread.daemon
               for thread in threading.enumerate())


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
