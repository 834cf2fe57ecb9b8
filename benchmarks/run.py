"""Benchmark draft-feedback against baselines measured in the same run.

Every figure is a ratio against a baseline timed in the same run, as the median of interleaved
runs, because these machines are noisy. Run it with the Python of the environment that has
draft-feedback and its test extras (aiosmtpd) installed:

    python benchmarks/run.py            # the full run, about two minutes
    python benchmarks/run.py --quick    # a smoke run
    python benchmarks/run.py --json     # the same figures as JSON

See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MAILMERGE_ENV = HERE / ".envs" / "mailmerge"
SENDER = ("Alex Rivera", "alex@example.com")
TO = "Priya Shah <priya@example.com>"


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One timed process (or in-process loop): wall seconds, CPU seconds, peak RSS in bytes."""

    wall: float
    cpu: float = 0.0
    rss: int = 0


def run_process(cmd: Sequence[str], env: dict[str, str]) -> Sample:
    """Run a command to completion; time it and read its own peak RSS (os.wait4)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                               + err.read().decode("utf-8", "replace"))
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def interleave(cases: dict[str, Callable[[], Sample]], rounds: int) -> dict[str, list[Sample]]:
    """Run every case once per round, rotating the order, so drift hits all cases alike."""
    names = list(cases)
    out: dict[str, list[Sample]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(cases[name]())
        progress(".", end="")
    progress("")
    return out


def median(samples: list[Sample], what: str = "wall") -> float:
    """Return the median of one field of the samples."""
    return statistics.median(getattr(s, what) for s in samples)


def progress(text: str, end: str = "\n") -> None:
    """Say what the benchmark is doing, on standard error."""
    print(text, end=end, file=sys.stderr, flush=True)


@dataclass
class Row:
    """One line of the table."""

    id: str
    measure: str
    value: str
    baseline: str
    ratio: float | None
    goal: float | None = None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool | None:
        """True if the ratio meets the goal; None where there is no goal."""
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio <= self.goal


def ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return f"{seconds * 1000:.1f} ms"


def mb(size: float) -> str:
    """Format bytes as MiB."""
    return f"{size / 2**20:.0f} MiB"


# --- the local SMTP server ----------------------------------------------------------------------


class CountingHandler:
    """aiosmtpd handler that accepts every message and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 Message accepted"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1 (aiosmtpd 1.4 cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[Any, CountingHandler, int]:
    """Start aiosmtpd in a thread of this process on a free port."""
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler, port


# --- the environment of the measured processes ---------------------------------------------------


@dataclass
class Bench:
    """Paths, commands and the child environment shared by every measurement."""

    root: Path
    port: int
    handler: CountingHandler
    rounds: int
    quick: bool
    against: str | None = None  # another installation's Python, timed in the same rounds
    python: str = ""
    command: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.command, self.python = find_command()
        if self.against:
            self.before, _ = find_command(self.against)
        config = self.root / "config.yaml"
        config.write_text(
            f"sender: {{name: {SENDER[0]}, email: {SENDER[1]}}}\n"
            "timezone: Europe/Berlin\n"
            "send_window: off\n"
            f"smtp: {{host: 127.0.0.1, port: {self.port}, security: none, login: false}}\n",
            encoding="utf-8")
        env = dict(os.environ)
        for name in ("DRAFT_FEEDBACK_SMTP_PASSWORD", "DRAFT_FEEDBACK_DEBUG",
                     "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONSTARTUP"):
            env.pop(name, None)
        # An installed tool runs from compiled bytecode; keep it in our own folder so that a
        # read-only or bytecode-less environment is measured as a user would run it.
        env["PYTHONPYCACHEPREFIX"] = str(self.root / "pycache")
        env["DRAFT_FEEDBACK_CONFIG"] = str(config)
        env["XDG_CONFIG_HOME"] = str(self.root / "xdg-config")
        env["XDG_DATA_HOME"] = str(self.root / "xdg-data")
        env["XDG_CACHE_HOME"] = str(self.root / "xdg-cache")  # filled by the warm-up runs
        self.env = env

    def env_for(self, home: Path, before: bool = False) -> dict[str, str]:
        """Return the child environment with its data folder set to `home`.

        The other installation keeps its own cache folder: the help text of two versions has
        the same name, and each would replace the other's on every run.
        """
        env = dict(self.env, DRAFT_FEEDBACK_HOME=str(home))
        if before:
            env["XDG_CACHE_HOME"] = str(self.root / "xdg-cache-before")
        return env

    def tool(self, home: Path, *args: str, before: bool = False) -> Callable[[], Sample]:
        """Return a case that runs draft-feedback with `args` on the outbox in `home`."""
        cmd = [*(self.before if before else self.command), *args]
        env = self.env_for(home, before)
        return lambda: run_process(cmd, env)

    def call(self, home: Path, *args: str, before: bool = False) -> str:
        """Run draft-feedback once for setting up, and return what it printed."""
        command = self.before if before else self.command
        done = subprocess.run([*command, *args], env=self.env_for(home, before), text=True,
                              capture_output=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"draft-feedback {' '.join(args)} exited {done.returncode}:\n"
                               f"{done.stdout}{done.stderr}")
        return done.stdout

    def python_pass(self) -> Callable[[], Sample]:
        """The start-up baseline: the same interpreter doing nothing."""
        cmd = [self.python, "-c", "pass"]
        return lambda: run_process(cmd, self.env)


def find_command(python: str | None = None) -> tuple[list[str], str]:
    """Return the draft-feedback console script (as cron runs it) and the Python it uses."""
    here = Path(python or sys.executable).parent
    script = here / "draft-feedback"
    if python is not None:
        if not script.exists():
            raise SystemExit(f"--against: no draft-feedback next to {python}")
        return [str(script)], python
    if not script.exists():
        found = shutil.which("draft-feedback")
        script = Path(found) if found else script
    if script.exists():
        first = script.read_bytes().split(b"\n", 1)[0]
        python = first[2:].decode().strip() if first.startswith(b"#!") else sys.executable
        if not Path(python.split()[0]).exists():
            python = sys.executable
        return [str(script)], python.split()[0]
    return [sys.executable, "-m", "draft_feedback"], sys.executable


def past(days: float) -> str:
    """Return an ISO time `days` ago (a rejection long enough ago for its cooling-off to end)."""
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


NEW_ARGS = ("new", "--to", TO, "--org", "Acme", "--role", "Data Analyst",
            "--ask", "interview-system-design", "--highlight", "the pairing exercise")


# --- rows 1 and 2: start-up -----------------------------------------------------------------


def startup_rows(b: Bench) -> list[Row]:
    """`--help`, one `new --json` and an idle `send-due` against `python -c pass`."""
    progress("start-up: --help, new --json, send-due with nothing due")
    home = b.root / "home-startup"
    rejected = past(3)
    cases = {
        "pass": b.python_pass(),
        "help": b.tool(home, "--help"),
        "new": b.tool(home, *NEW_ARGS, "--rejected", rejected, "--json"),
        "idle": b.tool(home, "send-due"),
    }
    if b.before:
        old = b.root / "home-startup-before"
        cases |= {
            "help-before": b.tool(old, "--help", before=True),
            "new-before": b.tool(old, *NEW_ARGS, "--rejected", rejected, "--json", before=True),
            "idle-before": b.tool(old, "send-due", before=True),
        }
    for case in cases.values():  # warm up: bytecode, page cache, the outbox's schema, caches
        case()
    got = interleave(cases, b.rounds)
    base = median(got["pass"])
    base_cpu = median(got["pass"], "cpu")

    def row(rid: str, label: str, name: str, goal: float | None, note: str = "") -> Row:
        wall = median(got[name])
        cpu = median(got[name], "cpu")
        return Row(rid, label, ms(wall), f"python -c pass {ms(base)}", wall / base, goal,
                   note or f"CPU time ratio {cpu / base_cpu:.2f}x",
                   {"wall_s": wall, "baseline_s": base, "cpu_s": cpu, "baseline_cpu_s": base_cpu,
                    "cpu_ratio": cpu / base_cpu, "peak_rss": median(got[name], "rss")})

    rows = [
        row("1", "draft-feedback --help", "help", 2.0),
        row("2", "draft-feedback new ... --json", "new", 10.0),
        row("2b", "send-due, nothing due (a cron tick)", "idle", 5.0),
    ]
    if b.before:
        rows += [row("1", "  before: --help", "help-before", None),
                 row("2", "  before: new ... --json", "new-before", None),
                 row("2b", "  before: send-due, nothing due", "idle-before", None)]
    return rows


# --- row 3: drafting in process ------------------------------------------------------------------


def drafting_row(b: Bench, count: int) -> Row:
    """Render + tone check per second, against plain Jinja rendering of the same templates."""
    progress(f"drafting: {count} drafts in process")
    os.environ["DRAFT_FEEDBACK_CONFIG"] = b.env["DRAFT_FEEDBACK_CONFIG"]
    os.environ["XDG_CONFIG_HOME"] = b.env["XDG_CONFIG_HOME"]
    import jinja2

    from draft_feedback.catalog import load_catalog
    from draft_feedback.config import config_path, load_config
    from draft_feedback.drafting import FILTERS, choose_questions, context, environment, render
    from draft_feedback.resources import builtin_dir
    from draft_feedback.workflow import NewOptions, check_request, prepare

    config = load_config(config_path())
    catalog = load_catalog(config)
    now = datetime.now(UTC)
    scenarios = list(catalog.scenarios)
    tones = ("warm", "formal", "brief")
    inputs = []
    for i in range(count):
        scenario = scenarios[i % len(scenarios)]
        options = NewOptions(scenario=scenario, to=f"Person {i} <person{i}@example.com>",
                             org=f"Organisation {i % 37}", role=f"Role {i % 11}",
                             highlight="the thoughtful questions" if i % 2 else None,
                             tone=tones[i % 3], rejected=past(3))
        inputs.append(prepare(options, config, catalog, now).draft)
    plain = jinja2.Environment(loader=jinja2.FileSystemLoader(str(builtin_dir())),
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    # The templates call our filters and read our globals: the plain render has them too.
    plain.filters.update(FILTERS)
    plain.globals.update({k: v for k, v in environment(config).globals.items()
                          if k not in plain.globals})
    jobs = []
    for inp in inputs:
        chosen = catalog.scenario(inp.scenario)
        questions = choose_questions(inp, catalog, config.defaults.max_questions)
        jobs.append((chosen.template, chosen.subject, context(inp, chosen, questions, config)))

    def ours() -> Sample:
        start = time.perf_counter()
        for inp in inputs:
            draft = render(inp, config, catalog)
            check_request(draft.subject, draft.body, config)
        return Sample(time.perf_counter() - start)

    def baseline() -> Sample:
        start = time.perf_counter()
        for name, subject, ctx in jobs:
            plain.get_template(name).render(ctx)
            plain.from_string(subject).render(ctx)
        return Sample(time.perf_counter() - start)

    ours()
    baseline()
    got = interleave({"ours": ours, "plain": baseline}, b.rounds)
    t, base = median(got["ours"]), median(got["plain"])
    return Row("3", f"drafts per second (render + tone check, {count:,})",
               f"{count / t:,.0f} /s", f"plain Jinja render {count / base:,.0f} /s", t / base,
               2.0, f"{t / count * 1e6:.0f} us per draft",
               {"drafts": count, "seconds": t, "baseline_seconds": base})


# --- rows 4 and 6: sending ------------------------------------------------------------------


def outbox_file(home: Path) -> Path:
    """Return the outbox database in a data folder."""
    return home / "outbox.sqlite3"


def settle(db: Path) -> None:
    """Fold the write-ahead log into the database file, so the file alone is the outbox."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def restore(pristine: Path, home: Path) -> None:
    """Put a saved outbox back in place of the one in `home` (not timed)."""
    db = outbox_file(home)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copyfile(pristine, db)


def max_id(home: Path) -> int:
    """The highest request id stored in a data folder's outbox."""
    conn = sqlite3.connect(outbox_file(home))
    try:
        return int(conn.execute("SELECT max(id) FROM requests").fetchone()[0])
    finally:
        conn.close()


def clone_rows(db: Path, template_id: int, count: int, status_of: Callable[[int], str],
               eml: bytes | None = None,
               sent_at_of: Callable[[int], str] | None = None) -> list[int]:
    """Insert `count` copies of a real request; return the ids of the scheduled ones."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous = OFF")
    row = dict(conn.execute("SELECT * FROM requests WHERE id = ?", (template_id,)).fetchone())
    del row["id"]
    columns = list(row)
    sql = (f"INSERT INTO requests ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    token = uuid.uuid4().hex[:12]

    def rows() -> Any:
        for i in range(count):
            values = dict(row, to_addr=f"person.{i}@example.com", to_name=f"Person {i}",
                          message_id=f"<bench.{i}.{token}@example.com>",
                          status=status_of(i))
            if values["status"] in ("sent", "replied"):
                sent_at = sent_at_of(i) if sent_at_of is not None else values["send_at"]
                values.update(sent_at=sent_at, eml=eml, attempts=1)
            if values["status"] in ("draft", "cancelled"):
                values.update(send_at=None)
            yield [values[c] for c in columns]

    with conn:
        conn.executemany(sql, rows())
    due = [r[0] for r in conn.execute(
        "SELECT id FROM requests WHERE status = 'scheduled' ORDER BY id")]
    conn.close()
    settle(db)
    return due


def seed_scheduled(b: Bench, home: Path) -> int:
    """Create one real scheduled request with draft-feedback itself; return its id."""
    record = json.loads(b.call(home, *NEW_ARGS, "--rejected", past(3), "--schedule", "--json"))
    if record["status"] != "scheduled":
        raise RuntimeError(f"the seed request is {record['status']}, not scheduled")
    return int(record["id"])


RAW_SEND = """\
import smtplib, sys
folder, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(folder + "/envelope.txt") as f:
    envelope = [line.split() for line in f.read().splitlines()]
with smtplib.SMTP(host, port) as smtp:
    for i, (sender, rcpt) in enumerate(envelope):
        with open(f"{folder}/{i}.eml", "rb") as f:
            smtp.sendmail(sender, [rcpt], f.read())
"""


SMALL_BATCH = 40  # the second, smaller send-due of a full run


def sending_rows(b: Bench, count: int, mailmerge: bool, goal: float | None = 2.5,
                 costs: bool = True) -> tuple[list[Row], bytes]:
    """send-due of `count` due requests (and mailmerge) against a raw smtplib loop.

    With `costs`, also where the outbox's time goes (row 4b). Each count has folders of its own.
    """
    progress(f"sending: {count} due requests")
    home = b.root / f"home-send-{count}"
    seed = seed_scheduled(b, home)
    db = outbox_file(home)
    settle(db)
    clone_rows(db, seed, count - 1, lambda i: "scheduled")
    pristine = b.root / f"send-pristine-{count}.sqlite3"
    shutil.copyfile(db, pristine)

    send = b.tool(home, "send-due")

    def send_due() -> Sample:
        restore(pristine, home)
        before = b.handler.count
        sample = send()
        if b.handler.count - before != count:
            raise RuntimeError(f"send-due delivered {b.handler.count - before} of {count}")
        return sample

    send_due()  # warm up, and keep the exact bytes it sent for the baselines
    conn = sqlite3.connect(db)
    sent = conn.execute("SELECT to_addr, eml, subject, body FROM requests "
                        "WHERE status = 'sent' ORDER BY id").fetchall()
    conn.close()
    if len(sent) != count:
        raise RuntimeError(f"{len(sent)} of {count} requests were marked sent")
    folder = b.root / f"raw-{count}"
    folder.mkdir()
    (folder / "envelope.txt").write_text(
        "\n".join(f"{SENDER[1]} {to}" for to, *_ in sent) + "\n", encoding="utf-8")
    for i, (_, eml, _, _) in enumerate(sent):
        (folder / f"{i}.eml").write_bytes(eml)
    script = b.root / "raw_send.py"
    script.write_text(RAW_SEND, encoding="utf-8")
    raw_cmd = [b.python, str(script), str(folder), "127.0.0.1", str(b.port)]

    def raw() -> Sample:
        before = b.handler.count
        sample = run_process(raw_cmd, b.env)
        if b.handler.count - before != count:
            raise RuntimeError(f"the smtplib loop delivered {b.handler.count - before}")
        return sample

    cases: dict[str, Callable[[], Sample]] = {"ours": send_due, "raw": raw}
    if b.before:
        cases["before"] = before_send_case(b, count)
    mm_note = ""
    if mailmerge:
        mm_cmd, mm_note = mailmerge_command(b, sent, b.root / f"mailmerge-{count}")
        if mm_cmd:
            def peer() -> Sample:
                before = b.handler.count
                sample = run_process(mm_cmd, b.env)
                if b.handler.count - before != count:
                    raise RuntimeError(f"mailmerge delivered {b.handler.count - before}")
                return sample

            cases["mailmerge"] = peer
    else:
        mm_note = "skipped (--no-mailmerge)"
    if costs:
        cases |= commit_cases(b, pristine, home)
    for case in cases.values():
        case()
    got = interleave(cases, b.rounds)
    base = median(got["raw"])
    ours = median(got["ours"])
    raw_label = f"smtplib loop, 1 connection {ms(base)}"
    rows = [Row("4", f"send-due, {count} due (start-up included)", ms(ours), raw_label,
                ours / base, goal, f"{(ours - base) / count * 1000:.2f} ms per message over "
                "the smtplib loop",
                {"seconds": ours, "baseline_seconds": base, "messages": count})]
    if "before" in got:
        old = median(got["before"])
        rows.append(Row("4", f"  before: send-due, {count} due", ms(old), raw_label, old / base,
                        None, f"{(old - base) / count * 1000:.2f} ms per message over the "
                        "smtplib loop", {"seconds": old, "baseline_seconds": base}))
    if costs:
        rows.append(commit_row(got, count, ours, base))
    if "mailmerge" in got:
        theirs = median(got["mailmerge"])
        below = "below" if ours < theirs else "NOT below"
        rows.append(Row("6", f"mailmerge --no-limit, same {count} messages", ms(theirs),
                        raw_label, theirs / base, None, "the nearest peer; one connection per "
                        f"message; send-due {ours / base:.2f}x, {below} it",
                        {"seconds": theirs, "baseline_seconds": base, "ours_seconds": ours}))
    else:
        rows.append(Row("6", f"mailmerge --no-limit, same {count} messages", "-", raw_label,
                        None, None, mm_note))
    return rows, sent[0][1]


def before_send_case(b: Bench, count: int) -> Callable[[], Sample]:
    """send-due of the other installation, on an outbox of its own making with `count` due."""
    home = b.root / f"home-send-before-{count}"
    record = json.loads(b.call(home, *NEW_ARGS, "--rejected", past(3), "--schedule", "--json",
                               before=True))
    db = outbox_file(home)
    settle(db)
    clone_rows(db, int(record["id"]), count - 1, lambda i: "scheduled")
    pristine = b.root / f"send-pristine-before-{count}.sqlite3"
    shutil.copyfile(db, pristine)
    send = b.tool(home, "send-due", before=True)

    def run() -> Sample:
        restore(pristine, home)
        before = b.handler.count
        sample = send()
        if b.handler.count - before != count:
            raise RuntimeError(f"the other send-due delivered {b.handler.count - before}")
        return sample

    return run


def commit_cases(b: Bench, pristine: Path, home: Path) -> dict[str, Callable[[], Sample]]:
    """Where send-due's time goes: the outbox's own work per message, and one durable commit."""
    from draft_feedback.outbox import Outbox

    lease = timedelta(minutes=5)

    def outbox_loop() -> Sample:
        restore(pristine, home)
        outbox = Outbox(home)
        now = datetime.now(UTC)
        records = outbox.due(now)
        start = time.perf_counter()
        for record in records:
            claim = outbox.claim(record.id, now, lease, lambda _: b"x" * 1500)
            assert claim is not None
            outbox.mark_sent(claim, now)
        outbox.flush()
        elapsed = time.perf_counter() - start
        outbox.close()
        return Sample(elapsed)

    scratch = b.root / "commit-cost.sqlite3"

    def commits(mode: str) -> Callable[[], Sample]:
        def run() -> Sample:
            shutil.copyfile(pristine, scratch)
            conn = sqlite3.connect(scratch, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {mode}")
            ids = [r[0] for r in conn.execute("SELECT id FROM requests")]
            start = time.perf_counter()
            for i in ids:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE requests SET attempts = attempts + 1 WHERE id = ?", (i,))
                conn.execute("COMMIT")
            elapsed = time.perf_counter() - start
            conn.close()
            for suffix in ("-wal", "-shm"):
                Path(str(scratch) + suffix).unlink(missing_ok=True)
            return Sample(elapsed / len(ids))
        return run

    return {"outbox": outbox_loop, "commit-full": commits("FULL"), "commit-off": commits("OFF")}


def commit_row(got: dict[str, list[Sample]], count: int, ours: float, raw: float) -> Row:
    """Row 4b: the outbox's work per sent message against the cost of one durable commit."""
    per_message = median(got["outbox"]) / count
    fsync = median(got["commit-full"]) - median(got["commit-off"])
    share = per_message * count / ours
    return Row("4b", "outbox work per sent message (claim + mark sent)",
               f"{per_message * 1000:.2f} ms", f"one durable commit {fsync * 1000:.2f} ms",
               per_message / fsync if fsync > 0 else None, None,
               f"{share:.0%} of send-due's time; the smtplib loop takes "
               f"{raw / count * 1000:.2f} ms per message, start-up included",
               {"per_message_s": per_message, "durable_commit_s": fsync,
                "share_of_send_due": share, "send_due_s": ours, "raw_s": raw})


def mailmerge_command(b: Bench, sent: list[Any], folder: Path) -> tuple[list[str] | None, str]:
    """Install mailmerge into its own environment (once) and write its inputs in `folder`."""
    exe = MAILMERGE_ENV / "bin" / "mailmerge"
    if not exe.exists():
        if b.quick:
            return None, f"skipped in --quick (not installed in {MAILMERGE_ENV})"
        progress(f"installing mailmerge into {MAILMERGE_ENV}")
        try:
            subprocess.run([b.python, "-m", "venv", str(MAILMERGE_ENV)], check=True,
                           capture_output=True)
            subprocess.run([str(MAILMERGE_ENV / "bin" / "python"), "-m", "pip", "install",
                            "--quiet", "mailmerge"], check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            last = detail.decode("utf-8", "replace").strip().splitlines()[-1:] or [str(exc)]
            return None, f"skipped: mailmerge could not be installed ({last[0]})"
    folder.mkdir()
    template = folder / "template.txt"
    template.write_text(f"TO: {{{{to}}}}\nFROM: {SENDER[0]} <{SENDER[1]}>\n"
                        "SUBJECT: {{subject}}\n\n{{body}}", encoding="utf-8")
    database = folder / "database.csv"
    with database.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["to", "subject", "body"])
        for to, _, subject, body in sent:
            writer.writerow([to, subject, body])
    config = folder / "server.conf"
    config.write_text(f"[smtp_server]\nhost = 127.0.0.1\nport = {b.port}\nratelimit = 0\n",
                      encoding="utf-8")
    cmd = [str(exe), "--template", str(template), "--database", str(database), "--config",
           str(config), "--no-limit", "--no-dry-run", "--output-format", "raw"]
    return cmd, ""


# --- row 5: outbox scale -------------------------------------------------------------------------


SCALE_DUE = 10
SCALE_RECENT = 100  # sent within sync's watch window (90 days); the rest of the history is older
SCALE_MAIL = 40  # messages in the mailbox sync reads
OTHER_STATES = ("draft", "cancelled", "replied")


def utc(t: datetime) -> str:
    """Format a time as the outbox stores it."""
    u = t.astimezone(UTC)
    return f"{u.year:04d}-{u:%m-%dT%H:%M:%S.%f}Z"


def history_sent_at(size: int) -> Callable[[int], str]:
    """When each stored request was sent: the newest within the last days, the rest long ago.

    A history grows by old mail; what sync watches (requests sent in the last 90 days) stays
    the same size whatever the outbox holds, so a slower sync at 100,000 is the history's cost.
    """
    now = datetime.now(UTC)

    def sent_at(i: int) -> str:
        age = size - i
        if age <= SCALE_DUE + SCALE_RECENT:
            return utc(now - timedelta(hours=age))
        return utc(now - timedelta(days=120, minutes=age))

    return sent_at


def start_imap(root: Path) -> tuple[Any, str]:
    """Start the tests' Dovecot (tests/imap_server.py); None and why if it cannot run."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    try:
        import imap_server
    except ImportError as exc:
        return None, f"skipped: the test IMAP server cannot be loaded ({exc})"
    if not imap_server.dovecot_available():
        return None, "skipped: Dovecot is not installed (dovecot-imapd)"
    try:
        return imap_server.start(root / "imap"), ""
    except (RuntimeError, OSError) as exc:
        return None, f"skipped: Dovecot did not start ({str(exc).splitlines()[0]})"


def mailbox_messages(count: int) -> list[bytes]:
    """Mail from other people over the last weeks: what sync searches through."""
    from email.utils import format_datetime

    now = datetime.now(UTC)
    out = []
    for i in range(count):
        when = now - timedelta(hours=17 * i + 3)
        out.append((f"From: Newsletter {i} <news{i}@lists.example.org>\r\n"
                    "To: Alex Rivera <alex@example.com>\r\n"
                    f"Subject: Issue {i} of the weekly digest\r\n"
                    f"Date: {format_datetime(when)}\r\n"
                    f"Message-ID: <digest.{i}@lists.example.org>\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    f"Item {i}: nothing to do with any request.\r\n").encode())
    return out


def scale_rows(b: Bench, sizes: Sequence[int], eml: bytes) -> list[Row]:
    """send-due (10 due), list, one new draft and sync with growing history: time and peak
    memory."""
    template_home = b.root / "home-scale-template"
    seed = seed_scheduled(b, template_home)
    settle(outbox_file(template_home))
    imap, imap_note = start_imap(b.root)
    try:
        return _scale_rows(b, sizes, eml, seed, template_home, imap, imap_note)
    finally:
        if imap is not None:
            imap.stop()


def _scale_rows(b: Bench, sizes: Sequence[int], eml: bytes, seed: int, template_home: Path,
                imap: Any, imap_note: str) -> list[Row]:
    homes: dict[int, tuple[Path, list[int]]] = {}
    for size in sizes:
        progress(f"outbox scale: building {size:,} stored requests")
        home = b.root / f"home-{size}"
        home.mkdir(mode=0o700)
        db = outbox_file(home)
        shutil.copyfile(outbox_file(template_home), db)
        os.chmod(db, 0o600)
        def status_of(i: int, size: int = size) -> str:
            # Mostly sent, some drafts, cancelled and replied, two old ones that need the
            # user (failed, interrupted), and the newest ten due now.
            if i >= size - SCALE_DUE:
                return "scheduled"
            if i in (size // 3, size // 2):
                return "failed" if i == size // 3 else "interrupted"
            return OTHER_STATES[i // 97 % 3] if i % 97 == 0 else "sent"

        due = clone_rows(db, seed, size - 1, status_of, eml, history_sent_at(size))
        homes[size] = (home, due)

    def reset(home: Path, due: list[int]) -> None:
        conn = sqlite3.connect(outbox_file(home))
        with conn:
            conn.execute(
                "UPDATE requests SET status = 'scheduled', sent_at = NULL, attempts = 0, "
                "claim_token = NULL, claim_pid = NULL, claim_host = NULL, claim_until = NULL, "
                f"eml = NULL, last_error = NULL WHERE id IN ({', '.join(map(str, due))})")
        conn.close()

    def drafting(home: Path) -> Callable[[], Sample]:
        """`new` of one draft (which first looks for earlier requests to the same address),
        the outbox put back as it was after each run."""
        draft = b.tool(home, *NEW_ARGS, "--rejected", past(3), "--json")
        stored = max_id(home)

        def run() -> Sample:
            sample = draft()
            conn = sqlite3.connect(outbox_file(home))
            with conn:
                conn.execute("DELETE FROM requests WHERE id > ?", (stored,))
            conn.close()
            return sample

        return run

    cases: dict[str, Callable[[], Sample]] = {}
    kinds = [("send", f"send-due ({SCALE_DUE} due)"), ("list", "list"),
             ("new", "new (one draft)")]
    if imap is not None:
        kinds.append(("sync", f"sync ({SCALE_MAIL} messages in the mailbox)"))
    for size, (home, due) in homes.items():
        send = b.tool(home, "send-due")
        listing = b.tool(home, "list")

        def send_case(send: Callable[[], Sample] = send, home: Path = home,
                      due: list[int] = due) -> Sample:
            reset(home, due)
            before = b.handler.count
            sample = send()
            if b.handler.count - before != len(due):
                raise RuntimeError(f"send-due delivered {b.handler.count - before} of "
                                   f"{len(due)}")
            return sample

        cases[f"send-{size}"] = send_case
        cases[f"list-{size}"] = listing
        cases[f"new-{size}"] = drafting(home)
        if imap is not None:
            cases[f"sync-{size}"] = sync_case(b, imap, home, due, reset)
    progress("outbox scale: " + ", ".join(k for k, _ in kinds).replace("send", "send-due"))
    for case in cases.values():
        case()
    got = interleave(cases, b.rounds)
    rows = []
    small = min(sizes)
    for kind, label in kinds:
        base_t = median(got[f"{kind}-{small}"])
        base_m = median(got[f"{kind}-{small}"], "rss")
        for size in sizes:
            t = median(got[f"{kind}-{size}"])
            m = median(got[f"{kind}-{size}"], "rss")
            worst = max(t / base_t, m / base_m)
            rows.append(Row("5", f"{label}, {size:,} stored", f"{ms(t)}, {mb(m)}",
                            f"{small:,} stored {ms(base_t)}, {mb(base_m)}", worst,
                            2.0 if size == max(sizes) and size != small else None,
                            f"time {t / base_t:.2f}x, peak memory {m / base_m:.2f}x",
                            {"size": size, "seconds": t, "peak_rss": m,
                             "baseline_seconds": base_t, "baseline_peak_rss": base_m}))
    if imap is None:
        rows.append(Row("5", "sync", "-", "-", None, None, imap_note))
    return rows


def sync_case(b: Bench, imap: Any, home: Path, due: list[int],
              reset: Callable[[Path, list[int]], None]) -> Callable[[], Sample]:
    """`sync` of an outbox against a mailbox of its own on the local Dovecot."""
    account = imap.account()
    account.deliver_many(mailbox_messages(SCALE_MAIL))
    config = home.parent / f"config-{home.name}-imap.yaml"
    config.write_text(
        Path(b.env["DRAFT_FEEDBACK_CONFIG"]).read_text(encoding="utf-8")
        + f"imap: {{host: 127.0.0.1, port: {imap.port}, security: none, "
          f"user: {account.user}, mailbox: INBOX, timeout: 30}}\n", encoding="utf-8")
    env = dict(b.env_for(home), DRAFT_FEEDBACK_CONFIG=str(config),
               DRAFT_FEEDBACK_IMAP_PASSWORD=account.password)
    cmd = [*b.command, "sync"]

    def run() -> Sample:
        reset(home, due)  # the same outbox every time, whatever send-due left
        return run_process(cmd, env)

    return run


# --- output ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "load_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def table(rows: list[Row], info: dict[str, Any]) -> str:
    """Render the rows as one fixed-width table."""
    head = ("#", "measure", "value", "baseline", "ratio", "goal", "")
    lines = [(r.id, r.measure, r.value, r.baseline,
              f"{r.ratio:.2f}x" if r.ratio is not None else "-",
              f"<= {r.goal:g}x" if r.goal is not None else "",
              {True: "ok", False: "MISSED", None: ""}[r.ok]) for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    out = [f"draft-feedback benchmark: {info['nproc']} cores, {info['cpu']}, Python "
           f"{info['python']}, median of {info['rounds']} interleaved runs"]
    for line in [head, *lines]:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True))
                   .rstrip())
    out.append("")
    for r in rows:
        if r.note:
            out.append(f"{r.id:>3} {r.measure}: {r.note}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 rounds, smaller loads, no 100,000-request outbox")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--rounds", type=int, help="interleaved runs per figure (default 9)")
    parser.add_argument("--no-mailmerge", action="store_true", help="skip the mailmerge row")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--drafts", type=int, metavar="N",
                        help="drafts per round of row 3 (default 1,000; 200 with --quick)")
    parser.add_argument("--against", metavar="PYTHON",
                        help="also time the draft-feedback installed next to PYTHON (an older "
                             "version, say) in the same rounds: start-up and send-due rows")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)
    messages = 50 if args.quick else 200
    drafts = args.drafts or (200 if args.quick else 1_000)

    info = machine() | {"rounds": rounds, "quick": args.quick,
                        "when": datetime.now(UTC).isoformat(timespec="seconds")}
    root = Path(tempfile.mkdtemp(prefix="draft-feedback-bench-"))
    controller, handler, port = start_server()
    try:
        b = Bench(root, port, handler, rounds, args.quick, args.against)
        info["command"] = " ".join(b.command)
        rows = startup_rows(b)
        rows.append(drafting_row(b, drafts))
        send_rows, eml = sending_rows(b, messages, not args.no_mailmerge)
        if not args.quick:
            # mailmerge opens a connection per message, so its lead changes with the count:
            # send-due is held below it at a small batch too.
            small, _ = sending_rows(b, SMALL_BATCH, not args.no_mailmerge, goal=None,
                                    costs=False)
            send_rows += small
        rows += [r for r in send_rows if r.id != "6"]
        rows += scale_rows(b, sizes, eml)
        rows += [r for r in send_rows if r.id == "6"]
    finally:
        controller.stop()
        if args.keep:
            progress(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    result = {"machine": info, "rows": [asdict(r) | {"ok": r.ok} for r in rows]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(rows, info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
