"""The README's worked example runs as written, in order, on a fresh install."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from click.testing import Result

Run = Callable[..., Result]
README = Path(__file__).resolve().parents[1] / "README.md"
FRIDAY_EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=ZoneInfo("Europe/Berlin"))
START = "<!-- worked-example:"
END = "<!-- worked-example: end -->"


def worked_example() -> list[tuple[str, list[str]]]:
    """The (command, expected output lines) pairs of the console blocks between the markers."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(START):text.index(END)]
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), lines[i]
            command = lines[i][2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + lines[i].strip()
            i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            steps.append((command, output))
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; '...' alone stands for any lines, a line ending in '  ...' for its rest."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    if not actual:
        return False
    if head.endswith("  ..."):
        same = actual[0].startswith(head[:-3])
    else:
        same = actual[0] == head
    return same and matches(rest, actual[1:])


def test_the_steps_are_found() -> None:
    commands = [command.split()[1] for command, _ in worked_example()]
    assert commands == ["config", "new", "schedule", "list"]


@time_machine.travel(FRIDAY_EVENING, tick=False)
def test_the_worked_example_runs_as_written(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    for command, expected in worked_example():
        args = shlex.split(command)
        assert args[0] == "draft-feedback"
        result = run(*args[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"
        shown = result.stdout.replace(str(config), "~/.config/draft-feedback/config.yaml")
        assert matches(expected, shown.splitlines()), (
            f"$ {command}\n--- README\n" + "\n".join(expected) + "\n--- actual\n" + shown)
