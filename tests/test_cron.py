"""send-due as cron runs it, and the entries schedule-setup prints or installs."""

from __future__ import annotations

import os
import plistlib
import re
import stat
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from conftest import SMTPServer, write_config

Run = Callable[..., Result]
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


def queue(run: Run, days_ago: float = 3, at: str | None = None) -> None:
    rejected = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds")
    when = ["--at", at] if at else ["--schedule"]
    result = run("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme",
                 "--rejected", rejected, *when)
    assert result.exit_code == 0, result.output


def test_an_empty_run_says_so_with_the_time(run: Run, config_file: Path) -> None:
    result = run("send-due")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [re.sub(STAMP, "", line, count=1) for line in lines] == [
        "0 sent, 0 not sent.", "Nothing is queued."]
    assert all(re.match(STAMP, line) for line in lines)


def test_an_empty_run_names_the_next_request(run: Run, config_file: Path) -> None:
    queue(run, days_ago=0.5)
    result = run("send-due")
    assert re.fullmatch(STAMP + r"Next: request 1 at \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \S+\.",
                        result.stdout.splitlines()[-1])
    dry = run("send-due", "--dry-run")
    assert "dry run: 0 due, nothing sent." in dry.stdout
    assert "Next: request 1 at " in dry.stdout


def test_a_dry_run_says_the_next_request_is_due_already(run: Run, config_file: Path) -> None:
    queue(run, days_ago=3)  # cooling-off over; config_file has no send window
    dry = run("send-due", "--dry-run")
    lines = [re.sub(STAMP, "", line, count=1) for line in dry.stdout.splitlines()]
    assert lines[-2] == "dry run: 1 due, nothing sent. Run without --dry-run to send."
    assert re.fullmatch(r"Next: request 1, due since \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \S+\.",
                        lines[-1])


def test_quiet_prints_only_what_was_sent(run: Run, tmp_path: Path,
                                         smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    assert run("send-due", "--quiet").stdout == ""
    queue(run)
    result = run("send-due", "--quiet")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(STAMP + r"request 1: sent\n", result.stdout)
    assert result.stderr == ""
    assert len(smtp_server.received) == 1


def test_the_cron_line_uses_the_full_path_and_a_log_in_the_data_folder(
        run: Run, private_paths: Path, tmp_path: Path) -> None:
    result = run("schedule-setup", "cron")
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[1]
    assert line == (
        f"*/10 * * * * DRAFT_FEEDBACK_CONFIG={tmp_path / 'config.yaml'} "
        f"DRAFT_FEEDBACK_HOME={private_paths} {COMMAND} send-due --quiet >> "
        f"{private_paths / 'send-due.log'} 2>&1 # draft-feedback send-due")
    assert "cannot open a desktop keyring" in result.stderr


def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, script: str) -> Path:
    """Put a stand-in for a system tool first on PATH (the outer edge: crontab, systemctl)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def test_install_adds_one_cron_line_and_replaces_it_on_a_second_run(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "crontab.txt"
    table.write_text("0 3 * * * backup\n")
    fake(tmp_path, monkeypatch, "crontab",
         f'if [ "$1" = "-l" ]; then cat {table}; else cat > {table}.new && '
         f"mv {table}.new {table}; fi\n")
    first = run("schedule-setup", "cron", "--install")
    assert first.exit_code == 0, first.output
    assert "Added a line to your crontab." in first.stdout
    second = run("schedule-setup", "cron", "--install")
    assert "Replaced the draft-feedback line in your crontab." in second.stdout
    lines = table.read_text().splitlines()
    assert lines[0] == "0 3 * * * backup"
    assert len(lines) == 2 and lines[1].endswith("send-due --quiet >> "
                                                 f"{tmp_path / 'home' / 'send-due.log'} 2>&1 "
                                                 "# draft-feedback send-due")


def test_install_systemd_writes_units_and_enables_the_timer(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls.txt"
    fake(tmp_path, monkeypatch, "systemctl", f'echo "$@" >> {calls}\n')
    result = run("schedule-setup", "systemd", "--install")
    assert result.exit_code == 0, result.output
    units = tmp_path / "xdg-config" / "systemd" / "user"
    service = (units / "draft-feedback.service").read_text()
    assert f"ExecStart={COMMAND} send-due --quiet\n" in service
    assert "OnCalendar=*:0/10\nPersistent=true\n" in (units / "draft-feedback.timer").read_text()
    assert calls.read_text().splitlines() == [
        "--user daemon-reload", "--user enable --now draft-feedback.timer"]
    assert "loginctl enable-linger" in result.stdout


def test_a_failing_systemctl_is_a_clear_error(run: Run, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake(tmp_path, monkeypatch, "systemctl", 'echo "Failed to connect to bus" >&2; exit 1\n')
    result = run("schedule-setup", "systemd", "--install")
    assert result.exit_code == 1
    assert result.stderr == ("Error: `systemctl --user daemon-reload` failed (Failed to connect "
                             "to bus); nothing else was changed\n")


def test_the_launchd_job_is_a_valid_plist(run: Run, private_paths: Path) -> None:
    result = run("schedule-setup", "launchd")
    assert result.exit_code == 0, result.output
    text = result.stdout.split("\n", 1)[1].split("# then:")[0]
    job = plistlib.loads(text.encode())
    assert job["ProgramArguments"] == [COMMAND, "send-due", "--quiet"]
    assert job["StartInterval"] == 600
    assert job["StandardOutPath"] == str(private_paths / "send-due.log")
