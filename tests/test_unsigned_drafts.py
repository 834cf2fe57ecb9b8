"""A draft saved before a sender existed is signed when it is scheduled, and says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from draft_feedback.config import load_config
from draft_feedback.drafting import sign

from conftest import write_config

Run = Callable[..., Result]
NEW = ("new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme", "--role",
       "Data Analyst", "--rejected", "2026-11-27T16:00", "--json")


def draft_without_sender(run: Run) -> dict:
    result = run(*NEW)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["body"].rstrip().endswith("Best wishes,\n[Your name]")
    return record


def test_scheduling_signs_a_draft_saved_before_the_sender(run: Run, tmp_path: Path) -> None:
    record = draft_without_sender(run)
    hint = run("new", *NEW[1:-1])
    assert ("Next: `draft-feedback config init` writes a config with your name and address; "
            "then `draft-feedback schedule 2` signs it (in place of [Your name]) and queues it."
            ) in hint.stdout
    write_config(tmp_path / "config.yaml")  # sender Alex Rivera, no send window
    result = run("schedule", str(record["id"]))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Request 1 was saved before a sender was configured; it is now signed as Alex Rivera "
        "(`draft-feedback show 1` shows it).")
    assert result.stdout.splitlines()[1].startswith("Request 1 is queued for ")
    shown = json.loads(run("show", "1", "--json").stdout)
    assert shown["status"] == "scheduled"
    assert shown["body"] == record["body"].replace("[Your name]", "Alex Rivera")
    assert shown["findings"] == []
    assert shown["message_id"].endswith("@example.com>")


def test_a_signature_with_its_own_sign_off_replaces_the_templates(run: Run,
                                                                  tmp_path: Path) -> None:
    record = draft_without_sender(run)
    config = write_config(tmp_path / "config.yaml")
    config.write_text(config.read_text().replace(
        "  email: alex@example.com\n",
        "  email: alex@example.com\n"
        "  signature: |-\n    Warm regards,\n    Alex\n    +49 30 1234\n"))
    result = run("schedule", "1", "--json")
    assert result.exit_code == 0, result.output
    assert "now signed as Alex Rivera" in result.stderr
    body = json.loads(result.stdout)["body"]
    assert body == record["body"].replace("Best wishes,\n[Your name]",
                                          "Warm regards,\nAlex\n+49 30 1234")


def test_a_refused_schedule_leaves_the_draft_unsigned(run: Run, tmp_path: Path) -> None:
    record = draft_without_sender(run)
    write_config(tmp_path / "config.yaml")
    result = run("schedule", "1", "--at", "2026-11-28T10:00")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --at: 2026-11-28T10:00:00+01:00 is before the "
                                    "cooling-off ends")
    assert json.loads(run("show", "1", "--json").stdout)["body"] == record["body"]


def test_an_edited_draft_keeps_the_edit_and_is_signed(run: Run, tmp_path: Path) -> None:
    record = draft_without_sender(run)
    write_config(tmp_path / "config.yaml")
    body = record["body"].replace("Best wishes,\n[Your name]\n",
                                  "Best wishes,\n[Your name]\n\nP.S. Thank you again.\n")
    signed = sign(body, load_config(tmp_path / "config.yaml"))
    assert signed is not None
    assert signed.endswith("Best wishes,\nAlex Rivera\n\nP.S. Thank you again.\n")
