"""The cron tick with nothing to do: `send-due` answered without loading the command line.

Cron runs `send-due` every few minutes, and nearly every run finds nothing to send. For exactly
`send-due` and `send-due --quiet` (or `-q`), the console command first asks here: the config
is read and the outbox opened through the same modules the full command uses, and only when
there is nothing at all to do (no mailbox to read, nothing due or due for a retry, no follow-up
to queue, no claim left in `sending`, no outbox to create or migrate) are the lines the full
command would print printed here. Anything else, any doubt and any error, answers None, and the
full command runs from the start: it then does the work, or reports the error, as always. This
path changes nothing in the outbox: it claims, sends, queues and migrates nothing.

DRAFT_FEEDBACK_NO_FAST_TICK=1 turns it off, so that tests can compare both paths.
"""

from __future__ import annotations

import os
import sys

SWITCH = "DRAFT_FEEDBACK_NO_FAST_TICK"
EXIT_INTERRUPTED = 130  # as the full command answers Ctrl-C
FORMS = (["send-due"], ["send-due", "--quiet"], ["send-due", "-q"])


def applies(argv: list[str]) -> bool:
    """True for the plain cron tick: `send-due`, alone or with --quiet or -q, unless turned off."""
    return argv in FORMS and not os.environ.get(SWITCH)


def answer(argv: list[str]) -> int | None:
    """Print what `send-due` prints when there is nothing to do and return 0; else None."""
    quiet = len(argv) > 1
    try:
        text = idle_text(quiet)
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - any doubt is the full command's to answer
        return None
    if text is None:
        return None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # As the full command: the reader (head, true) left, which is no error.
        from draft_feedback.terminal import quiet_stdout

        quiet_stdout()
        return 0
    except (OSError, ValueError):
        return None  # the full command meets the same trouble and reports it
    return 0


def idle_text(quiet: bool) -> str | None:
    """Return the full command's output for a run with nothing to do, or None if there is work."""
    if sys.stdout is None:
        return None
    from datetime import UTC, datetime

    from draft_feedback import generated

    generated.install()
    from draft_feedback import terminal
    from draft_feedback.config import config_path, home_dir, load_config
    from draft_feedback.outbox import Outbox

    now = datetime.now(UTC)
    config = load_config(config_path(None))
    if config.imap is not None:
        return None  # send-due reads the mailbox first
    outbox = Outbox(home_dir(None))
    try:
        if not outbox.open_current():
            return None  # the full command creates or migrates it
        if outbox.count("sending"):
            return None  # a claim to expire or to leave alone: the full command decides
        if outbox.due(now, limit=1):
            return None
        for record in outbox.wanting_follow_up():
            if record.problem is not None or (record.follow_up_at is not None
                                               and record.follow_up_at <= now):
                return None
        if quiet:
            return ""
        upcoming = outbox.next_queued()
        if upcoming is not None and (upcoming[0].problem is not None or upcoming[1] <= now):
            return None
    finally:
        outbox.close()
    lines = [terminal.sent_total(0, 0, 0),
             terminal.next_queued(upcoming, now, config.timezone)]
    text = "".join(terminal.stamped(line, sys.stdout, datetime.now(UTC)) + "\n"
                   for line in lines)
    if not text.isascii() or not text.replace("\n", "").isprintable():
        return None  # what Click does with other text on other terminals is Click's to say
    return text
