"""What a send-due run loads and builds: only what the messages due need."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from conftest import PRIYA, SMTPServer, write_config

Run = Callable[..., Result]
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print(sorted(m for m in {modules!r} if m in sys.modules),"
         " file=sys.stderr))\n"
         "sys.argv = ['draft-feedback', *{argv!r}]\n"
         "from draft_feedback.launch import main\nmain()\n")
HEAVY = ("yagmail", "keyring", "email_validator", "jinja2", "email.message", "ssl")


def loaded(*argv: str) -> list[str]:
    """Run the command in a process of its own; return which heavy modules it loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(modules=HEAVY, argv=argv)],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().replace("'", '"'))


@pytest.mark.slow
def test_a_cron_tick_with_nothing_due_loads_no_mail_or_template_library(
        tmp_path: Path, smtp_server: SMTPServer, run: Run) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    assert loaded("send-due") == []
    assert loaded("list") == []
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="minutes")
    assert run("new", "--to", PRIYA, "--org", "Acme", "--rejected", rejected,
               "--schedule").exit_code == 0
    # A message due: now the connection layer is needed, and only then.
    assert "yagmail" in loaded("send-due")
    assert len(smtp_server.received) == 1


def test_a_plain_connection_builds_no_tls_context(tmp_path: Path, smtp_server: SMTPServer,
                                                  run: Run,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)  # security: none, to 127.0.0.1
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="minutes")
    assert run("new", "--to", PRIYA, "--org", "Acme", "--rejected", rejected,
               "--schedule").exit_code == 0

    def refuse(*args: object, **kwargs: object) -> ssl.SSLContext:
        raise AssertionError("a TLS context was built for security: none")

    monkeypatch.setattr(ssl, "create_default_context", refuse)
    result = run("send-due")
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.stdout
    assert len(smtp_server.received) == 1
