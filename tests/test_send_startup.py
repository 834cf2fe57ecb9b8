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


KEYRING_BACKEND = '''\
from keyring.backend import KeyringBackend


class Keyring(KeyringBackend):
    """A keyring holding one password per service, for a process of its own."""

    priority = 1

    def get_password(self, service, username):
        return {"draft-feedback": "smtp-secret", "draft-feedback-imap": "imap-secret"}.get(service)

    def set_password(self, service, username, password):
        raise NotImplementedError

    def delete_password(self, service, username):
        raise NotImplementedError
'''


def keyring_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a child process whose system keyring is a fixed test backend."""
    (tmp_path / "fixed_keyring.py").write_text(KEYRING_BACKEND, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    return dict(os.environ, PYTHONPATH=path, PYTHON_KEYRING_BACKEND="fixed_keyring.Keyring")


@pytest.mark.slow
def test_a_password_from_the_environment_sends_without_loading_the_keyring(
        tmp_path: Path, smtp_server: SMTPServer, run: Run,
        monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.behaviour.password = "env-secret"
    write_config(tmp_path / "config.yaml", smtp_server, login=True)
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="minutes")
    assert run("new", "--to", PRIYA, "--org", "Acme", "--rejected", rejected,
               "--schedule").exit_code == 0
    monkeypatch.setenv("DRAFT_FEEDBACK_SMTP_PASSWORD", "env-secret")
    modules = loaded("send-due")
    assert "yagmail" in modules
    assert "keyring" not in modules
    assert smtp_server.auth_attempts == [("alex@example.com", "env-secret")]
    assert len(smtp_server.received) == 1


@pytest.mark.slow
def test_a_password_from_the_keyring_still_logs_in(tmp_path: Path, smtp_server: SMTPServer,
                                                   run: Run) -> None:
    smtp_server.behaviour.password = "smtp-secret"
    write_config(tmp_path / "config.yaml", smtp_server, login=True)
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="minutes")
    assert run("new", "--to", PRIYA, "--org", "Acme", "--rejected", rejected,
               "--schedule").exit_code == 0
    done = subprocess.run([sys.executable, "-m", "draft_feedback", "send-due"],
                          capture_output=True, text=True, timeout=60, env=keyring_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert smtp_server.auth_attempts == [("alex@example.com", "smtp-secret")]
    assert len(smtp_server.received) == 1


def test_the_keyring_works_in_full_after_yagmail_was_imported(tmp_path: Path) -> None:
    # The IMAP password is looked up after the SMTP connection is open, so after yagmail.
    script = ("import sys\n"
              "from draft_feedback.sending import import_yagmail\n"
              "yagmail = import_yagmail()\n"
              "print('keyring' in sys.modules, yagmail.SMTP.__name__)\n"
              "from draft_feedback.credentials import get_imap_password\n"
              "print(get_imap_password('alex@example.com', same_as_smtp=False))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=keyring_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "Client", "imap-secret"]


def test_yagmail_is_imported_without_asyncio_and_its_stand_ins_leave(tmp_path: Path) -> None:
    # yagmail's asynchronous client and its OAuth2 module's urllib.request are never used for
    # sending; a token refresh still reaches the real urlopen.
    page = tmp_path / "token.json"
    page.write_text('{"access_token": "t"}', encoding="utf-8")
    script = ("import sys\n"
              "from draft_feedback.sending import import_yagmail\n"
              "yagmail = import_yagmail()\n"
              "print(*('asyncio' in sys.modules, 'urllib.request' in sys.modules,\n"
              "        'keyring' in sys.modules, 'yagmail.async_core.aio' in sys.modules))\n"
              "from yagmail import oauth2\n"
              f"print(oauth2.urlopen({page.as_uri()!r}).read().decode())\n"
              "import urllib.request, yagmail.async_core.aio as aio\n"
              "print(urllib.request.urlopen.__module__, aio.AsyncSMTP.__module__)\n"
              "try:\n"
              "    yagmail.AsyncSMTP()\n"
              "except RuntimeError as exc:\n"
              "    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=keyring_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "False False False False",
        '{"access_token": "t"}',
        "urllib.request yagmail.async_core.aio",
        "yagmail's asynchronous client is not loaded by draft-feedback",
    ]
