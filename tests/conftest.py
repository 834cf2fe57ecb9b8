"""Shared fixtures: a private data folder and config, a real SMTP server, an in-memory keyring."""
# ruff: noqa: E402  (the cache folder is chosen before our modules are imported)

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Our modules read and write the cache folder from the moment they are imported (their fixed
# patterns' compiled code, written at exit): the whole run gets a folder of its own, never the
# user's. Each test then gets its own again (private_paths).
_RUN_CACHE = tempfile.mkdtemp(prefix="draft-feedback-test-cache-")
os.environ["XDG_CACHE_HOME"] = _RUN_CACHE
atexit.register(shutil.rmtree, _RUN_CACHE, True)

import asyncio
import socket
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import keyring
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner, Result
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from draft_feedback.cli import cli

SENDER = "Alex Rivera <alex@example.com>"
PRIYA = "Priya Shah <priya@example.com>"


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps passwords in a dict for the length of a test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise PasswordDeleteError("not found") from None


@pytest.fixture(autouse=True)
def private_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data folder and config at tmp_path, so no test touches the user's files."""
    home = tmp_path / "home"
    monkeypatch.setenv("DRAFT_FEEDBACK_HOME", str(home))
    monkeypatch.setenv("DRAFT_FEEDBACK_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.delenv("DRAFT_FEEDBACK_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("DRAFT_FEEDBACK_DEBUG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Use an in-memory keyring backend for every test."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@dataclass
class Received:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Behaviour:
    """How the test server answers; tests change it to make the server misbehave."""

    rcpt_reply: str | None = None
    data_reply: str | None = None
    data_delay: float = 0.0
    drop_after_data: bool = False
    password: str | None = None  # when set, AUTH is offered and required


class Handler:
    """aiosmtpd handler that records messages and answers as the Behaviour says."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.data_started = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.behaviour.rcpt_reply:
            return self.behaviour.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_started.set()
        if self.behaviour.data_delay:
            await asyncio.sleep(self.behaviour.data_delay)
            if server.transport is None or server.transport.is_closing():
                return "451 the client went away"  # never accepted: nobody heard the reply
        if self.behaviour.drop_after_data:
            server.transport.close()
            return "250 never seen"
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
        return "250 Message accepted"


@dataclass
class SMTPServer:
    """A running local SMTP server and what it received."""

    host: str
    port: int
    handler: Handler
    behaviour: Behaviour
    auth_attempts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def free_port() -> int:
    """Bind port 0 to learn a free port (aiosmtpd 1.4 cannot start on port 0 itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """Start aiosmtpd on 127.0.0.1 and collect what it receives."""
    behaviour = Behaviour()
    handler = Handler(behaviour)
    attempts: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            password = auth_data.password.decode()
            attempts.append((login, password))
            ok = password == behaviour.password
            # handled=False makes aiosmtpd answer 535; the default leaves the client waiting.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_require_tls=False,
                            auth_required=False)
    controller.start()
    server = SMTPServer("127.0.0.1", port, handler, behaviour, attempts)
    try:
        yield server
    finally:
        controller.stop()


def write_config(path: Path, server: SMTPServer | None = None, *, extra: str = "",
                 login: bool = False, window: str = "send_window: off", timeout: int = 10) -> Path:
    """Write a config for tests: Berlin time, a sender, and the local SMTP server."""
    smtp = ""
    if server is not None:
        smtp = textwrap.dedent(f"""\
            smtp:
              host: {server.host}
              port: {server.port}
              security: none
              login: {'true' if login else 'false'}
              user: alex@example.com
              timeout: {timeout}
            """)
    path.write_text(textwrap.dedent("""\
        sender:
          name: Alex Rivera
          email: alex@example.com
        timezone: Europe/Berlin
        """) + window + "\n" + smtp + extra, encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config with a sender and no send window, pointing nowhere for SMTP."""
    return write_config(tmp_path / "config.yaml")


@pytest.fixture
def run() -> Callable[..., Result]:
    """Invoke the command line in-process, as a user would type it."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None, ok: bool | None = None,
               env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        if ok is True:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Dovecot on free loopback ports for the whole run (see tests/imap_server.py)."""
    import os

    import imap_server as dovecot

    if not dovecot.dovecot_available():
        reason = (f"Dovecot is not installed ({dovecot.DOVECOT}); install dovecot-imapd "
                  "(.ci/run does it in CI)")
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    if os.geteuid() == 0:
        # Dovecot's unprivileged processes must reach their files, and pytest resets its base
        # folder to 0700 whenever a session starts; so under root the instance lives in its own
        # temporary folder, removed afterwards.
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="draft-feedback-dovecot-"))
    else:
        folder = tmp_path_factory.mktemp("dovecot")
    server = dovecot.start(folder / "server")
    try:
        yield server
    finally:
        server.stop()
        if os.geteuid() == 0:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def imap_account(imap_server: Any) -> Any:
    """A fresh account with an empty Maildir on the shared Dovecot."""
    return imap_server.account()


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per test run (without isolation: no index needed)."""
    import subprocess
    import sys

    dist = tmp_path_factory.mktemp("dist")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(root)], check=True, capture_output=True, timeout=300)
    [wheel] = dist.glob("draft_feedback-*.whl")
    return wheel
