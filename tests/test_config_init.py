"""`config init` writes the user's own identity and provider, never an example one."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from click.testing import Result

from draft_feedback.config import load_config

Run = Callable[..., Result]
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))
ANA = ("--name", "Ana López", "--email", "ana@fastmail.com", "--timezone", "Europe/Madrid")


def active_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_without_a_terminal_or_an_identity_it_refuses(run: Run, tmp_path: Path) -> None:
    result = run("config", "init")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --name and --email: config init writes your own name and address, and there "
        'is no terminal to ask on; give --name "Your Name" --email you@example.com (and '
        "--timezone, --provider)\n")
    assert not (tmp_path / "config.yaml").exists()
    only_name = run("config", "init", "--name", "Ana López")
    assert only_name.exit_code == 2 and only_name.stderr.startswith("Error: --email: ")


def test_it_writes_only_what_was_given(run: Run, tmp_path: Path) -> None:
    result = run("config", "init", *ANA, "--provider", "fastmail")
    assert result.exit_code == 0, result.output
    path = tmp_path / "config.yaml"
    assert result.stdout.startswith(
        f"Wrote {path}: sender Ana López <ana@fastmail.com>, timezone Europe/Madrid, Fastmail "
        "(smtp.fastmail.com:465, ssl).\n")
    assert active_lines(path) == [
        "sender:", '  name: "Ana López"', '  email: "ana@fastmail.com"',
        "timezone: Europe/Madrid",
        "smtp:", "  host: smtp.fastmail.com", "  port: 465", "  security: ssl", "  login: true"]
    config = load_config(path)
    assert config.sender is not None
    assert (config.sender.name, config.sender.email) == ("Ana López", "ana@fastmail.com")
    assert config.timezone.key == "Europe/Madrid"
    assert (config.scenarios, config.focus_areas, config.tone.rules) == ((), (), ())
    assert config.send_window is not None and config.send_window.tz.key == "Europe/Madrid"
    assert "Alex" not in "\n".join(active_lines(path))
    checked = run("config", "check")
    assert checked.exit_code == 0
    assert checked.stdout.startswith(f"{path}: OK (")


@pytest.mark.parametrize(("provider", "host", "port", "security", "login"), [
    ("gmail", "smtp.gmail.com", 587, "starttls", True),
    ("outlook", "smtp.office365.com", 587, "starttls", True),
    ("fastmail", "smtp.fastmail.com", 465, "ssl", True),
    ("icloud", "smtp.mail.me.com", 587, "starttls", True),
    ("proton-bridge", "127.0.0.1", 1025, "none", True),
    ("relay", "localhost", 25, "none", False),
])
def test_each_provider_fills_host_port_and_security(run: Run, tmp_path: Path, provider: str,
                                                    host: str, port: int, security: str,
                                                    login: bool) -> None:
    assert run("config", "init", *ANA, "--provider", provider).exit_code == 0
    smtp = load_config(tmp_path / "config.yaml").smtp
    assert (smtp.host, smtp.port, smtp.security, smtp.login) == (host, port, security, login)
    assert "imap:" not in "\n".join(active_lines(tmp_path / "config.yaml"))


def test_a_request_queued_after_init_is_signed_by_the_user(run: Run) -> None:
    assert run("config", "init", *ANA, "--provider", "relay").exit_code == 0
    result = run("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme",
                 "--rejected", "2026-11-27T16:00", "--schedule", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "scheduled"
    assert record["body"].rstrip().endswith("Ana López")
    assert "Alex" not in record["body"]
    assert record["message_id"].endswith("@fastmail.com>")


def test_an_existing_config_is_kept_without_force(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("timezone: Asia/Tokyo\n")
    result = run("config", "init", *ANA)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path} already exists; edit it, or add --force to replace it\n"
    assert path.read_text() == "timezone: Asia/Tokyo\n"
    assert run("config", "init", *ANA, "--force").exit_code == 0
    assert "timezone: Europe/Madrid" in path.read_text()


@pytest.mark.parametrize(("args", "expected_error"), [
    (("--name", "Ana", "--email", "ana"), "Error: --email: 'ana' is not a valid email address"),
    (("--name", "Ana", "--email", "Ana <ana@example.org>"),
     "Error: --email: give the address alone, like ana@example.org"),
    (("--name", "Ana\nBcc: x@evil.example", "--email", "ana@example.org"), "Error: --name: "),
    (("--name", " ", "--email", "ana@example.org"), "Error: --name: your name is empty"),
    (("--name", "Ana", "--email", "ana@example.org", "--timezone", "Mars/Olympus"),
     "Error: --timezone: unknown timezone 'Mars/Olympus'"),
    (("--name", "Ana", "--email", "ana@example.org", "--provider", "aol"),
     "Error: Invalid value for '--provider': 'aol' is not one of"),
])
def test_bad_values_are_refused_and_nothing_is_written(run: Run, tmp_path: Path,
                                                       args: tuple[str, ...],
                                                       expected_error: str) -> None:
    result = run("config", "init", *args)
    assert result.exit_code == 2
    assert expected_error in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "config.yaml").exists()


def test_on_a_terminal_it_asks(tmp_path: Path) -> None:
    env = dict(os.environ, TZ="America/Chicago")
    child = pexpect.spawn(COMMAND, ["config", "init"], env=env, encoding="utf-8", timeout=20,
                          dimensions=(50, 200))
    try:
        child.expect_exact("Your name, as your emails are signed:")
        child.sendline("Ana López")
        child.expect_exact("Your email address:")
        child.sendline("not-an-address")
        child.expect_exact("Error: --email: 'not-an-address' is not a valid email address")
        child.expect_exact("Your email address:")
        child.sendline("ana@fastmail.com")
        child.expect_exact("Your timezone [America/Chicago]:")
        child.sendline("")
        child.expect_exact("relay (A mail relay on this machine (postfix, msmtpd, ...))")
        child.expect_exact("Provider (gmail, outlook, fastmail, icloud, proton-bridge, relay, "
                           "skip) [fastmail]:")
        child.sendline("")
        child.expect_exact("Next: `draft-feedback login` stores the password")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    config = load_config(tmp_path / "config.yaml")
    assert config.sender is not None and config.sender.name == "Ana López"
    assert config.timezone.key == "America/Chicago"
    assert config.smtp.host == "smtp.fastmail.com"


def test_each_preset_names_the_imap_host_the_config_derives_from_its_smtp_host() -> None:
    from draft_feedback.config import IMAP_HOSTS, is_loopback
    from draft_feedback.presets import PROVIDERS

    for provider in PROVIDERS.values():
        if provider.imap_host is None or is_loopback(provider.host):
            continue  # a relay or bridge on this machine serves IMAP on the same host
        assert IMAP_HOSTS[provider.host] == provider.imap_host, provider.id
