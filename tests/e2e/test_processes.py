"""Real `draft-feedback` processes: concurrent send-due runs, and a run killed mid-send."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from conftest import SMTPServer, write_config

pytestmark = pytest.mark.slow
Run = Callable[..., Result]
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


def queue_many(run: Run, count: int) -> list[int]:
    rejected = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    ids = []
    for number in range(count):
        result = run("new", "--to", f"Person {number} <p{number}@example.com>", "--org",
                     "Acme", "--rejected", rejected, "--schedule", "--json")
        assert result.exit_code == 0, result.output
        ids.append(json.loads(result.stdout)["id"])
    return ids


def statuses(run: Run) -> Counter[str]:
    records = json.loads(run("list", "--json", ok=True).stdout)
    return Counter(r["status"] for r in records)


def test_four_concurrent_runs_send_each_request_exactly_once(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    smtp_server.behaviour.data_delay = 0.02  # long enough for the runs to overlap
    ids = queue_many(run, 40)
    runs = [subprocess.Popen([COMMAND, "send-due"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in runs]
    assert [p.returncode for p in runs] == [0, 0, 0, 0], outputs
    recipients = Counter(m.rcpt_tos[0] for m in smtp_server.received)
    assert len(smtp_server.received) == 40
    assert set(recipients.values()) == {1}
    assert len({m.message["Message-ID"] for m in smtp_server.received}) == 40
    assert statuses(run) == Counter({"sent": 40})
    sent_by_run = [int(out.split(" sent,")[0].split()[-1]) for out, _ in outputs]
    assert sum(sent_by_run) == 40
    assert len(ids) == 40


def test_run_killed_during_data_leaves_request_interrupted_then_retry_sends_once(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    smtp_server.behaviour.data_delay = 30
    [request_id] = queue_many(run, 1)
    process = subprocess.Popen([COMMAND, "send-due"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert smtp_server.handler.data_started.wait(30), "the run never reached DATA"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    record = json.loads(run("show", str(request_id), "--json", ok=True).stdout)
    assert record["status"] == "sending"
    listing = run("list", ok=True).stdout
    assert "interrupted" in listing
    assert f"draft-feedback retry {request_id}" in listing
    smtp_server.behaviour.data_delay = 0
    assert "0 sent" in run("send-due", ok=True).stdout
    assert smtp_server.received == []
    run("retry", str(request_id), ok=True)
    assert "1 sent" in run("send-due", ok=True).stdout
    assert len(smtp_server.received) == 1


def test_worker_finishes_the_message_in_flight_on_sigterm(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    smtp_server.behaviour.data_delay = 1.5
    queue_many(run, 2)
    worker = subprocess.Popen([COMMAND, "worker", "--interval", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert smtp_server.handler.data_started.wait(30)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "Worker stopped." in out
    # The one in flight was finished; the second was left queued, not cut in half.
    assert len(smtp_server.received) == 1
    assert statuses(run) == Counter({"sent": 1, "scheduled": 1})
    assert os.path.exists(COMMAND)


def test_two_cron_runs_at_once_with_nothing_due_are_quiet(run: Run, tmp_path: Path,
                                                          smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    start = time.monotonic()
    runs = [subprocess.run([COMMAND, "send-due"], capture_output=True, text=True, timeout=60)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0]
    assert all("0 sent" in r.stdout for r in runs)
    assert time.monotonic() - start < 30
