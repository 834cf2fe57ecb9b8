"""The entries that run `send-due` on a timer: a crontab line, systemd user units, a launchd job."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from draft_feedback.errors import BadInput, Failure

KINDS = ("cron", "systemd", "launchd")
MARKER = "# draft-feedback send-due"
LAUNCHD_LABEL = "io.github.draft-feedback.send-due"
INTERVAL_MINUTES = 10
KEYRING_NOTE = (
    "A job started by the system timer usually cannot open a desktop keyring (it is unlocked "
    "only in your login session). If `send-due` there says it has no password, put "
    "DRAFT_FEEDBACK_SMTP_PASSWORD in a file only you can read and load it in the job "
    "(cron: `. ~/.config/draft-feedback/env;` before the command; systemd: "
    "EnvironmentFile=; launchd: EnvironmentVariables), or use a relay on this machine.")


@dataclass(frozen=True)
class Entry:
    """What to install: files (path -> text), a crontab line, and what to tell the user."""

    kind: str
    files: dict[Path, str]
    cron_line: str | None
    notes: tuple[str, ...]


def command_path() -> Path:
    """The draft-feedback executable of this installation (the venv's, pipx's, uv's)."""
    beside = Path(sys.executable).with_name("draft-feedback")
    if beside.exists():
        return beside
    found = shutil.which("draft-feedback")
    if found:
        return Path(found).resolve()
    return Path(sys.argv[0]).resolve()


def _environment() -> dict[str, str]:
    """The config and data folder this run uses, so the timer uses the same ones."""
    return {k: os.environ[k] for k in ("DRAFT_FEEDBACK_CONFIG", "DRAFT_FEEDBACK_HOME")
            if os.environ.get(k)}


def entry(kind: str, data_dir: Path) -> Entry:
    """Build the entry of one kind for this installation."""
    exe = command_path()
    env = _environment()
    if kind == "cron":
        log = data_dir / "send-due.log"
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = (f"*/{INTERVAL_MINUTES} * * * * {prefix + ' ' if prefix else ''}"
                f"{shlex.quote(str(exe))} send-due --quiet >> {shlex.quote(str(log))} 2>&1 "
                f"{MARKER}")
        return Entry(kind, {}, line, (
            f"Every {INTERVAL_MINUTES} minutes; each line of {log} starts with its time.",
            KEYRING_NOTE))
    if kind == "systemd":
        folder = _config_home() / "systemd" / "user"
        environment = "".join(f"Environment={k}={v}\n" for k, v in env.items())
        service = ("[Unit]\nDescription=Send due feedback requests (draft-feedback)\n\n"
                   f"[Service]\nType=oneshot\n{environment}"
                   f"ExecStart={exe} send-due --quiet\n")
        timer = ("[Unit]\nDescription=Send due feedback requests every "
                 f"{INTERVAL_MINUTES} minutes\n\n[Timer]\nOnCalendar=*:0/{INTERVAL_MINUTES}\n"
                 "Persistent=true\n\n[Install]\nWantedBy=timers.target\n")
        return Entry(kind, {folder / "draft-feedback.service": service,
                            folder / "draft-feedback.timer": timer}, None, (
            "Output goes to the journal: `journalctl --user -u draft-feedback`.",
            "User timers run only while you are logged in unless lingering is on: "
            "`loginctl enable-linger $USER`.",
            KEYRING_NOTE))
    if kind == "launchd":
        log = data_dir / "send-due.log"
        env_xml = "".join(f"      <key>{k}</key><string>{_xml(v)}</string>\n"
                          for k, v in env.items())
        plist = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
            '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
            '<plist version="1.0">\n<dict>\n'
            f"  <key>Label</key><string>{LAUNCHD_LABEL}</string>\n"
            "  <key>ProgramArguments</key>\n  <array>\n"
            f"    <string>{_xml(str(exe))}</string>\n    <string>send-due</string>\n"
            "    <string>--quiet</string>\n  </array>\n"
            + (f"  <key>EnvironmentVariables</key>\n  <dict>\n{env_xml}  </dict>\n"
               if env else "")
            + f"  <key>StartInterval</key><integer>{INTERVAL_MINUTES * 60}</integer>\n"
            f"  <key>StandardOutPath</key><string>{_xml(str(log))}</string>\n"
            f"  <key>StandardErrorPath</key><string>{_xml(str(log))}</string>\n"
            "</dict>\n</plist>\n")
        target = Path.home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        return Entry(kind, {target: plist}, None, (
            f"Every {INTERVAL_MINUTES} minutes while you are logged in; output in {log}.",
            KEYRING_NOTE))
    raise BadInput(f"{kind!r}: choose one of " + ", ".join(KINDS))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def install(item: Entry, data_dir: Path) -> list[str]:
    """Install the entry and return what was done, one line each."""
    done: list[str] = []
    data_dir.mkdir(parents=True, exist_ok=True)
    for path, text in item.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        done.append(f"wrote {path}")
    if item.kind == "cron" and item.cron_line is not None:
        current = _run(["crontab", "-l"], allow_fail=True)
        lines = [line for line in current.splitlines() if not line.endswith(MARKER)]
        replaced = len(lines) != len(current.splitlines())
        _run(["crontab", "-"], stdin="\n".join([*lines, item.cron_line]) + "\n")
        done.append(("replaced the draft-feedback line in" if replaced else "added a line to")
                    + " your crontab")
    elif item.kind == "systemd":
        _run(["systemctl", "--user", "daemon-reload"])
        _run(["systemctl", "--user", "enable", "--now", "draft-feedback.timer"])
        done.append("enabled and started draft-feedback.timer")
    elif item.kind == "launchd":
        [plist] = item.files
        _run(["launchctl", "unload", str(plist)], allow_fail=True)
        _run(["launchctl", "load", "-w", str(plist)])
        done.append(f"loaded {LAUNCHD_LABEL}")
    return done


def _run(args: list[str], stdin: str | None = None, allow_fail: bool = False) -> str:
    try:
        result = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise Failure(f"{args[0]} is not installed here; run schedule-setup without "
                      "--install and set the entry up by hand") from None
    if result.returncode != 0 and not allow_fail:
        detail = " ".join((result.stderr or result.stdout).split())[:200]
        raise Failure(f"`{' '.join(args)}` failed ({detail}); nothing else was changed")
    return result.stdout if result.returncode == 0 else ""
