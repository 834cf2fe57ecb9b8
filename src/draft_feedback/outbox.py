"""SQLite outbox: migrations, request states and atomic claims. The only module that speaks SQL."""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from draft_feedback.errors import BadInput, DraftFeedbackError, Failure
from draft_feedback.patterns import compile_kept

# typing costs a cron tick more than this module's own code (tick.py): read by checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATES = ("draft", "scheduled", "sending", "sent", "failed", "cancelled", "interrupted",
          "replied", "held")
KINDS = ("request", "thank-you", "follow-up")
MAX_ATTEMPTS = 5
BUSY_TIMEOUT_MS = 15_000
SCHEMA_TABLE = "schema_migrations"

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_requests", """
        CREATE TABLE requests (
            id INTEGER PRIMARY KEY,
            status TEXT NOT NULL DEFAULT 'draft',
            scenario TEXT NOT NULL,
            tone TEXT NOT NULL,
            to_name TEXT NOT NULL DEFAULT '',
            to_addr TEXT NOT NULL,
            org TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL DEFAULT '',
            areas TEXT NOT NULL DEFAULT '[]',
            questions TEXT NOT NULL DEFAULT '[]',
            highlight TEXT NOT NULL DEFAULT '',
            future INTEGER NOT NULL DEFAULT 1,
            thank_you_only INTEGER NOT NULL DEFAULT 0,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            findings TEXT NOT NULL DEFAULT '[]',
            tz TEXT NOT NULL,
            rejected_at TEXT NOT NULL,
            earliest_send_at TEXT NOT NULL,
            send_at TEXT,
            window_applies INTEGER NOT NULL DEFAULT 1,
            next_try_at TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            message_id TEXT,
            in_reply_to TEXT,
            refs TEXT,
            claim_token TEXT,
            claim_pid INTEGER,
            claim_host TEXT,
            claim_until TEXT,
            eml BLOB
        );
        CREATE INDEX requests_status_send_at ON requests (status, send_at);
    """),
    ("0002_reflection_and_reply", """
        ALTER TABLE requests ADD COLUMN reflection TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE requests ADD COLUMN reply TEXT;
        ALTER TABLE requests ADD COLUMN replied_at TEXT;
    """),
    # `list --status S` pages the newest of one state; without this it sorts every such row.
    ("0003_status_id_index", """
        CREATE INDEX requests_status_id ON requests (status, id);
    """),
    # The reply loop: what kind of message a row is, what it belongs to, why it is held, the
    # user's private takeaways, and who answered in which message (to thread a thank-you).
    # The unique index is what makes "one follow-up per request" hold under concurrent runs.
    ("0004_reply_loop", """
        ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'request';
        ALTER TABLE requests ADD COLUMN parent_id INTEGER REFERENCES requests (id);
        ALTER TABLE requests ADD COLUMN held_reason TEXT;
        ALTER TABLE requests ADD COLUMN hold_override INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE requests ADD COLUMN follow_up_days INTEGER;
        ALTER TABLE requests ADD COLUMN takeaways TEXT;
        ALTER TABLE requests ADD COLUMN reply_message_id TEXT;
        ALTER TABLE requests ADD COLUMN reply_from TEXT;
        CREATE UNIQUE INDEX requests_one_follow_up ON requests (parent_id)
            WHERE kind = 'follow-up';
        CREATE INDEX requests_parent ON requests (parent_id);
    """),
    # What sync and every send-due read: requests sent in the last 90 days, and sent requests
    # that asked for a follow-up. Without these both walk every sent request ever stored.
    ("0005_reply_loop_indexes", """
        CREATE INDEX requests_status_sent_at ON requests (status, sent_at);
        CREATE INDEX requests_wanting_follow_up ON requests (status, id)
            WHERE follow_up_days IS NOT NULL;
    """),
    # What every `new` asks before it stores a draft: was this address, or this rejection
    # email, asked already? Without these it reads every request ever stored. NOCASE is the
    # ASCII case folding that SQLite's lower() does, so an address matches as it did before.
    ("0006_asked_before_indexes", """
        CREATE INDEX requests_to_addr ON requests (to_addr COLLATE NOCASE);
        CREATE INDEX requests_in_reply_to ON requests (in_reply_to);
    """),
)


def utc_text(t: datetime) -> str:
    """Store an aware time as fixed-width UTC text, so text order is time order."""
    if t.tzinfo is None:
        raise ValueError("naive datetime")
    u = t.astimezone(UTC)
    # Not strftime: on glibc its %Y gives "26" for the year 26, which neither sorts nor reads.
    return f"{u.year:04d}-{u:%m-%dT%H:%M:%S.%f}Z"


_UTC_TEXT = compile_kept(r"(\d{1,4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z")


def from_utc_text(text: str | None) -> datetime | None:
    """Read a stored time back as an aware UTC datetime (ValueError if it is not one)."""
    if text is None:
        return None
    match = _UTC_TEXT.fullmatch(str(text))
    if match is None:
        raise ValueError(f"{str(text)[:40]!r} is not a stored time")
    year, month, day, hour, minute, second, micro = (int(g) for g in match.groups())
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@dataclass(frozen=True)
class NewRequest:
    """What `new` stores for a request: each field is a column of the same name."""

    scenario: str
    tone: str
    to_name: str
    to_addr: str
    org: str
    role: str
    areas: tuple[str, ...]
    questions: tuple[str, ...]
    highlight: str
    future: bool
    thank_you_only: bool
    subject: str
    body: str
    findings: tuple[dict[str, Any], ...]
    tz: str
    rejected_at: datetime
    earliest_send_at: datetime
    created_at: datetime
    message_id: str | None
    in_reply_to: str | None = None
    references: str | None = None
    reflection: dict[str, str] = field(default_factory=dict)
    kind: str = "request"
    parent_id: int | None = None
    follow_up_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class Record(NewRequest):
    """One stored request, as read back: what `new` stored, and what happened to it since."""

    id: int
    status: str
    send_at: datetime | None
    window_applies: bool
    next_try_at: datetime | None
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    claim_token: str | None
    claim_pid: int | None
    claim_until: datetime | None
    eml: bytes | None
    reply: str | None
    replied_at: datetime | None
    held_reason: str | None = None
    hold_override: bool = False
    takeaways: dict[str, Any] | None = None
    reply_message_id: str | None = None
    reply_from: str | None = None
    problem: str | None = None  # why the stored row could not be read in full

    @property
    def follow_up_at(self) -> datetime | None:
        """When the one follow-up is due: the send time plus follow_up.after_days, else None."""
        if self.follow_up_days is None or self.sent_at is None:
            return None
        return self.sent_at + timedelta(days=self.follow_up_days)

    @property
    def to(self) -> str:
        """Return the recipient as 'Name <addr>'."""
        from draft_feedback.addresses import Address

        return Address(self.to_name, self.to_addr).formatted()

    def local(self, t: datetime | None) -> datetime | None:
        """Return a stored time in the request's own timezone."""
        if t is None or self.problem is not None and t == UNREADABLE_TIME:
            return None
        try:
            return t.astimezone(ZoneInfo(self.tz))
        except (ValueError, OverflowError):  # a hand-edited tz, or a time at the calendar's edge
            return t

    def to_json(self) -> dict[str, Any]:
        """Return the JSON record of the spec: the keys of JSON_KEYS, in that order."""
        values: dict[str, Any] = {}
        for key in JSON_KEYS:
            value = getattr(self, key)
            if isinstance(value, datetime):
                local = self.local(value)
                value = None if local is None else local.isoformat(timespec="seconds")
            elif isinstance(value, tuple):
                value = list(value)
            values[key] = value
        if self.problem:
            values["problem"] = self.problem
        return values


# The JSON record (`new --json`, `show --json`, `list --json`), in the order it is printed. A
# key is a Record field or property; adding one to the record is adding its name here.
JSON_KEYS = (
    "id",
    "status",
    "scenario",
    "to",
    "org",
    "role",
    "subject",
    "body",
    "rejected_at",
    "earliest_send_at",
    "send_at",
    "created_at",
    "sent_at",
    "attempts",
    "last_error",
    "message_id",
    "findings",
    "tone",
    "areas",
    "questions",
    "in_reply_to",
    "references",
    "reflection",
    "reply",
    "replied_at",
    "kind",
    "parent_id",
    "held_reason",
    "follow_up_at",
    "takeaways",
)
# A field is stored in the column of its name, except where SQL reserves the word.
_COLUMN = {"references": "refs"}


def _column(name: str) -> str:
    return _COLUMN.get(name, name)


def _to_sql(value: Any) -> Any:
    """Encode a field's value for its column: JSON for sequences and maps, text for times."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return utc_text(value)
    return value


def _from_sql(annotation: str) -> Callable[[Any], Any]:
    """Return the decoder for a column read into a field of this annotation."""
    if annotation.endswith("| None") and not annotation.startswith("datetime"):
        inner = _from_sql(annotation[:-len("| None")].strip())
        return lambda value: None if value is None else inner(value)
    if annotation.startswith("tuple"):
        return lambda text: tuple(json.loads(text))
    if annotation.startswith("dict"):
        return json.loads
    if annotation == "bool":
        return bool
    if annotation.startswith("datetime"):
        return from_utc_text
    return lambda value: value


# Worked out once: reading a large outbox decodes every row through this list.
_NEW_COLUMNS = tuple((f.name, _column(f.name)) for f in fields(NewRequest))
_RECORD_FIELDS = tuple(f for f in fields(Record) if f.name != "problem")  # not a column
_DECODERS = tuple((f.name, _column(f.name), _from_sql(str(f.type))) for f in _RECORD_FIELDS)


@dataclass(frozen=True)
class Claim:
    """A request taken by one send-due process for one SMTP transaction."""

    record: Record
    token: str


UNREADABLE_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def _row_to_record(row: sqlite3.Row) -> Record:
    try:
        return Record(**{name: decode(row[column]) for name, column, decode in _DECODERS})
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # One hand-edited or damaged row must not take the whole outbox down with it: it is
        # read as far as it goes and carries the reason, which `list` and `show` print.
        return _damaged_row(row, str(exc) or type(exc).__name__)


_REQUIRED_TIMES = ("rejected_at", "earliest_send_at", "created_at")


def _damaged_row(row: sqlite3.Row, reason: str) -> Record:
    values: dict[str, Any] = {}
    for f, (name, column, decode) in zip(_RECORD_FIELDS, _DECODERS, strict=True):
        annotation = str(f.type)
        try:
            values[name] = decode(row[column])
        except (ValueError, TypeError, KeyError, OverflowError):
            values[name] = (() if annotation.startswith("tuple") else
                            {} if annotation.startswith("dict") else
                            "" if annotation == "str" else
                            0 if annotation == "int" else None)
    for name in _REQUIRED_TIMES:
        if not isinstance(values.get(name), datetime):
            values[name] = UNREADABLE_TIME
    if values.get("status") not in STATES:
        values["status"] = "failed"
    values["tz"] = values.get("tz") or "UTC"
    return Record(**values, problem=f"the stored request cannot be read ({reason[:200]}); "
                                    "cancel it and draft it again")


def _hostname() -> str:
    """Return this machine's name as socket.gethostname() does, without importing socket."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Connection(sqlite3.Connection):
    """An outbox connection; unlike sqlite3.Connection it can be held by a weak reference."""


_OPEN: weakref.WeakSet[_Connection] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Close the connections still open when the program ends, which it may do without teardown.

    A dropped connection is freed only by the cycle collector, which a quick exit never runs;
    closing folds the write-ahead log back into the database file, so that the file alone is
    the outbox for anyone who copies it.
    """
    for conn in list(_OPEN):
        try:
            conn.close()
        except sqlite3.Error:
            pass  # opened by another thread; its own end closes it


DISK_FULL_BYTES = 1 << 20  # below a mebibyte free, a failed write is the disk being full


def _free_bytes(folder: Path) -> int:
    """Bytes free to this user on the disk holding `folder` (a large number if unknown)."""
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return 1 << 62
    return stats.f_bavail * stats.f_frsize


class Outbox:
    """The request store in the data folder."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / "outbox.sqlite3"
        self._conn: sqlite3.Connection | None = None
        # A sent message recorded later: (id, claim token, sent_at text). See mark_sent.
        self._sent: tuple[int, str, str] | None = None
        self.lost_sent: set[int] = set()  # sent after their claim was taken away

    # --- opening ------------------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """Open (and on first use create and migrate) the database; errors name the path."""
        if self._conn is not None:
            return self._conn
        self._prepare_files()
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, factory=_Connection)
            _OPEN.add(conn)
            self._conn = conn
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Read before writing anything: switching the journal mode rewrites the file's
            # header, which another program's database, or a newer outbox, must never see.
            self._refuse_foreign(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._storage_error(exc) from None
        except BaseException:
            self.close()
            raise
        return conn

    def open_current(self) -> bool:
        """Open the outbox only if it exists and is up to date, writing nothing; else False.

        For a reader that must not change anything: where connect() would have work to do
        first (create the file, run a migration, switch the journal mode) this answers False
        and leaves it to connect(). A folder or file that connect() refuses is refused here too.
        """
        if self._conn is not None:
            return True
        if self.path.is_symlink() or not self.path.is_file():
            return False
        self._refuse_shared(self.home, "data folder")
        self._refuse_shared(self.path, "outbox")
        if not (os.access(self.path, os.W_OK) and os.access(self.home, os.W_OK)):
            return False  # SQLite would open it read-only, where connect() reports the error
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, factory=_Connection)
        except sqlite3.Error:
            return False
        _OPEN.add(conn)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            current = (
                SCHEMA_TABLE in tables
                and {r[0] for r in conn.execute(f"SELECT name FROM {SCHEMA_TABLE}")}
                == {name for name, _ in MIGRATIONS}
                and str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal")
            if current:
                # Settings of this connection alone, as connect() makes them.
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error:
            current = False
        if not current:
            conn.close()
            return False
        self._conn = conn
        return True

    def _prepare_files(self) -> None:
        try:
            if not self.home.exists():
                self.home.mkdir(mode=0o700, parents=True)
                os.chmod(self.home, 0o700)
            self._refuse_shared(self.home, "data folder")
            if not self.path.exists() and not self.path.is_symlink():
                # Create the file ourselves so that it is 0600 from its first byte;
                # SQLite gives the -wal and -shm files the same mode.
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY
                             | getattr(os, "O_NOFOLLOW", 0), 0o600)
                os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise Failure(f"{self.path}: cannot create the outbox: {exc.strerror}; check that "
                          "the data folder is writable, or choose another with --home") from None
        if self.path.is_symlink():
            raise Failure(f"{self.path}: the outbox is a symbolic link; whoever controls where "
                          "it points controls what send-due sends; move it aside and put the "
                          "file itself there, or choose another data folder with --home")
        if self.path.is_dir():
            raise Failure(f"{self.path}: is a folder, not an outbox database; move it aside")
        self._refuse_shared(self.path, "outbox")

    def _refuse_shared(self, path: Path, what: str) -> None:
        """Refuse a folder or file another user owns or may write (as ssh does with its files).

        Whoever can rewrite the outbox decides what send-due sends, from the user's account,
        to whom. Windows has no such mode bits; its folders are per user already.
        """
        import stat

        if os.name == "nt":
            return
        try:
            info = path.stat()
        except OSError:
            return  # absent: created below, or the error is reported where it is opened
        # Root could read and change it anyway, so a folder of root's is no new risk (ssh too).
        if info.st_uid not in (os.getuid(), 0):
            raise Failure(f"{path}: the {what} belongs to another user (uid {info.st_uid}), who "
                          "could read your requests and change what send-due sends; use a "
                          "data folder of your own (--home or DRAFT_FEEDBACK_HOME)")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            fix = "chmod 700" if what == "data folder" else "chmod 600"
            raise Failure(f"{path}: other users can write to the {what} (mode "
                          f"{stat.S_IMODE(info.st_mode):04o}), so they could change what "
                          f"send-due sends; run `{fix} {path}` and check its contents, or "
                          "choose another data folder with --home")

    def _storage_error(self, exc: sqlite3.Error) -> Failure:
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return Failure(f"{self.path}: not a draft-feedback outbox (the file is not an SQLite "
                           "database, or is damaged); it was left untouched: move it aside or "
                           "choose another data folder with --home")
        if "locked" in text or "busy" in text:
            return Failure(f"{self.path}: the outbox is locked by another process (waited "
                           f"{BUSY_TIMEOUT_MS / 1000:g} s); try again in a moment")
        if "readonly" in text or "unable to open" in text or "read-only" in text:
            return Failure(f"{self.path}: cannot write to the outbox ({text}); check the "
                           "permissions of the data folder, or choose another with --home")
        if "disk is full" in text or (
                "disk I/O error" in text and _free_bytes(self.home) < DISK_FULL_BYTES):
            # A full disk shows as SQLITE_FULL, or as a failed write (SQLITE_IOERR) when the
            # write-ahead log cannot grow; the free space tells which.
            return Failure(f"{self.path}: the disk holding the outbox is full, so nothing was "
                           "changed; free some space on it, or choose another data folder "
                           "with --home")
        return Failure(f"{self.path}: outbox error: {text}")

    def _refuse_foreign(self, conn: sqlite3.Connection) -> None:
        """Refuse, without writing, a database that is not an outbox this version can use."""
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if SCHEMA_TABLE not in tables:
            if tables:
                raise Failure(
                    f"{self.path}: an SQLite database of another program (tables: "
                    f"{', '.join(sorted(tables))}); it was left untouched: move it aside or "
                    "choose another data folder with --home")
            return
        done = {r[0] for r in conn.execute(f"SELECT name FROM {SCHEMA_TABLE}")}
        unknown = done - {name for name, _ in MIGRATIONS}
        if unknown:
            raise Failure(f"{self.path}: the outbox was written by a newer draft-feedback "
                          f"(migration {sorted(unknown)[-1]}); it was left untouched: upgrade "
                          "draft-feedback")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._refuse_foreign(conn)  # again, now that no other process can change it
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if SCHEMA_TABLE not in tables:
                conn.execute(f"CREATE TABLE {SCHEMA_TABLE} (id INTEGER PRIMARY KEY, "
                             "name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL)")
            done = {r[0] for r in conn.execute(f"SELECT name FROM {SCHEMA_TABLE}")}
            for number, (name, sql) in enumerate(MIGRATIONS, start=1):
                if name in done:
                    continue
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"INSERT INTO {SCHEMA_TABLE} (id, name, applied_at) VALUES (?, ?, ?)",
                             (number, name, utc_text(datetime.now(UTC))))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection, writing a sent message not yet recorded."""
        if self._conn is not None:
            if self._sent is not None:
                self.flush()
            self._conn.close()
            self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a write transaction that takes the write lock at once (BEGIN IMMEDIATE)."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._storage_error(exc) from None
        pending = self._sent
        try:
            self._write_sent(conn)
            yield conn
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._sent = pending
            raise self._storage_error(exc) from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._sent = pending
            raise

    def _write_sent(self, conn: sqlite3.Connection) -> None:
        """Write the sent message recorded by mark_sent, in the transaction under way."""
        if self._sent is None:
            return
        request_id, token, stamp = self._sent
        self._sent = None
        cursor = conn.execute(
            "UPDATE requests SET status = 'sent', sent_at = ?, last_error = NULL, "
            "claim_until = NULL WHERE id = ? AND claim_token = ? "
            "AND status IN ('sending', 'interrupted')", (stamp, request_id, token))
        if cursor.rowcount != 1:
            self.lost_sent.add(request_id)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        if self._sent is not None:
            self.flush()  # what is read includes the send recorded a moment ago
        try:
            return self.connect().execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._storage_error(exc) from None

    # --- reading ------------------------------------------------------------------------------

    def get(self, request_id: int) -> Record:
        """Return one request, or a BadInput naming the id."""
        rows = self._query("SELECT * FROM requests WHERE id = ?", (request_id,))
        if not rows:
            raise BadInput(f"no request with id {request_id}; `draft-feedback list` shows them")
        return _row_to_record(rows[0])

    def records(self, status: str | None = None, limit: int | None = None) -> list[Record]:
        """Return requests, newest last; with a limit, the newest `limit` of them."""
        params: list[Any] = [status] if status else []
        where = "WHERE status = ?" if status else ""
        sql = f"SELECT * FROM requests {where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_to_record(r) for r in reversed(self._query(sql, params))]

    def needing_attention(self, below: int) -> list[tuple[int, str]]:
        """Return (id, status) of the interrupted and failed requests older than id `below`."""
        rows = self._query("SELECT id, status FROM requests WHERE status IN "
                           "('interrupted', 'failed') AND id < ? ORDER BY id", (below,))
        return [(int(r["id"]), str(r["status"])) for r in rows]

    def count(self, status: str | None = None) -> int:
        """Return how many requests there are (of a status)."""
        if status:
            return int(self._query("SELECT count(*) FROM requests WHERE status = ?",
                                   (status,))[0][0])
        return int(self._query("SELECT count(*) FROM requests")[0][0])

    def due(self, now: datetime, limit: int | None = None) -> list[Record]:
        """Return queued requests whose send time (and any retry delay) has passed."""
        stamp = utc_text(now)
        # The cooling-off is checked here as well as when scheduling: nothing leaves before it.
        sql = ("SELECT * FROM requests WHERE status = 'scheduled' AND send_at <= ? "
               "AND earliest_send_at <= ? AND (next_try_at IS NULL OR next_try_at <= ?) "
               "ORDER BY send_at, id")
        params: list[Any] = [stamp, stamp, stamp]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_to_record(r) for r in self._query(sql, params)]

    def next_queued(self) -> tuple[Record, datetime] | None:
        """Return the queued request that goes next, and when (its send time or its next try)."""
        queued = [(r, max(t for t in (r.send_at, r.next_try_at, r.earliest_send_at) if t))
                  for r in self.records(status="scheduled")]
        return min(queued, key=lambda pair: pair[1]) if queued else None

    # --- writing ------------------------------------------------------------------------------

    def add(self, req: NewRequest) -> Record:
        """Store a new draft and return it."""
        with self.transaction() as conn:
            columns = ", ".join(column for _, column in _NEW_COLUMNS)
            cursor = conn.execute(
                f"INSERT INTO requests (status, {columns}) "
                f"VALUES ('draft', {', '.join('?' * len(_NEW_COLUMNS))})",
                tuple(_to_sql(getattr(req, name)) for name, _ in _NEW_COLUMNS),
            )
            new_id = cursor.lastrowid
        return self.get(int(new_id or 0))

    def _update(self, request_id: int, allowed: Sequence[str], action: str,
                **values: Any) -> Record:
        """Change a request if its status allows it, in one transaction."""
        with self.transaction() as conn:
            row = conn.execute("SELECT status FROM requests WHERE id = ?",
                               (request_id,)).fetchone()
            if row is None:
                raise BadInput(f"no request with id {request_id}; `draft-feedback list` "
                               "shows them")
            if row["status"] not in allowed:
                raise BadInput(f"request {request_id} is {row['status']}; only a request that "
                               f"is {' or '.join(allowed)} can be {action}")
            columns = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE requests SET {columns} WHERE id = ?",
                         [*values.values(), request_id])
        return self.get(request_id)

    def edit(self, request_id: int, subject: str, body: str,
             findings: Sequence[dict[str, Any]], blocked: bool = False) -> Record:
        """Replace subject and body of what no run has claimed, checking the status in the
        same transaction; blocked wording takes a queued request back to draft."""
        with self.transaction() as conn:
            row = conn.execute("SELECT status FROM requests WHERE id = ?",
                               (request_id,)).fetchone()
            if row is None:
                raise BadInput(f"no request with id {request_id}; `draft-feedback list` "
                               "shows them")
            status = row["status"]
            if status == "sending":
                raise BadInput(f"request {request_id} is being sent right now, so your edit was "
                               "not saved; `draft-feedback show "
                               f"{request_id}` in a minute tells how it went")
            if status not in ("draft", "scheduled"):
                raise BadInput(f"request {request_id} is {status}, so your edit was not saved; "
                               "only a draft or a queued request can be edited")
            values: dict[str, Any] = {"subject": subject, "body": body,
                                      "findings": json.dumps(list(findings))}
            if blocked and status == "scheduled":
                values |= {"status": "draft", "send_at": None}
            columns = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE requests SET {columns} WHERE id = ? AND status = ?",
                         [*values.values(), request_id, status])
        return self.get(request_id)

    def set_message_id(self, request_id: int, message_id: str) -> None:
        """Give a request its Message-ID (made once, when the sender is known)."""
        with self.transaction() as conn:
            conn.execute("UPDATE requests SET message_id = ? WHERE id = ? AND message_id IS NULL",
                         (message_id, request_id))

    def schedule(self, request_id: int, send_at: datetime, window_applies: bool) -> Record:
        """Queue a draft, or move a queued one, to send at `send_at`; a held one goes anyway."""
        if self.get(request_id).status == "held":
            # The user saw what arrived and chose to send: no later check holds it again.
            return self._update(request_id, ("held",), "scheduled", status="scheduled",
                                send_at=utc_text(send_at), window_applies=int(window_applies),
                                next_try_at=None, held_reason=None, hold_override=1)
        return self._update(request_id, ("draft", "scheduled"), "scheduled",
                            status="scheduled", send_at=utc_text(send_at),
                            window_applies=int(window_applies), next_try_at=None)

    def cancel(self, request_id: int) -> Record:
        """Stop a draft, queued or held request; it stays in the history."""
        return self._update(request_id, ("draft", "scheduled", "held"), "cancelled",
                            status="cancelled")

    def hold(self, request_id: int, reason: str) -> bool:
        """Stop a queued request because the recipient wrote first; False if it was not queued."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE requests SET status = 'held', held_reason = ? "
                "WHERE id = ? AND status = 'scheduled' AND hold_override = 0",
                (reason, request_id))
            return cursor.rowcount == 1

    def record_found_reply(self, request_id: int, reply: str, replied_at: datetime,
                           message_id: str | None, sender: str | None) -> bool:
        """Store a reply found in the mailbox on a sent request; False if one is recorded."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE requests SET status = 'replied', reply = ?, replied_at = ?, "
                "reply_message_id = ?, reply_from = ? WHERE id = ? AND status = 'sent'",
                (reply, utc_text(replied_at), message_id, sender, request_id))
            return cursor.rowcount == 1

    def mark_bounced(self, request_id: int, error: str) -> bool:
        """A sent request came back undeliverable: failed, with the bounce's reason."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE requests SET status = 'failed', last_error = ? "
                "WHERE id = ? AND status = 'sent'", (error, request_id))
            return cursor.rowcount == 1

    def set_takeaways(self, request_id: int, takeaways: dict[str, Any]) -> Record:
        """Keep the user's private takeaways from a reply with the request."""
        return self._update(request_id, ("replied",), "reflected on",
                            takeaways=json.dumps(takeaways))

    def children(self, parent_id: int) -> list[Record]:
        """Return the thank-yous and follow-ups that belong to a request."""
        rows = self._query("SELECT * FROM requests WHERE parent_id = ? ORDER BY id",
                           (parent_id,))
        return [_row_to_record(r) for r in rows]

    def asked(self, addr: str, message_id: str | None,
              statuses: Sequence[str]) -> list[tuple[int, str]]:
        """Return (id, status), oldest first, of the requests (kind request) in the given
        states that went to an address (its case aside) or answer the rejection email with
        this Message-ID."""
        marks = ", ".join("?" for _ in statuses)
        where = f"kind = 'request' AND status IN ({marks})"
        sql = f"SELECT id, status FROM requests WHERE {where} AND to_addr = ? COLLATE NOCASE"
        params: list[Any] = [*statuses, addr]
        if message_id:
            sql += f" UNION SELECT id, status FROM requests WHERE {where} AND in_reply_to = ?"
            params += [*statuses, message_id]
        return [(int(r[0]), str(r[1])) for r in self._query(sql + " ORDER BY id", params)]

    def watched(self, sent_since: datetime) -> list[Record]:
        """Requests a reply can answer or a hold can stop: sent since a time, or queued."""
        rows = self._query(
            "SELECT * FROM requests WHERE kind IN ('request', 'follow-up') AND "
            "((status = 'sent' AND sent_at >= ?) OR (status = 'scheduled' AND hold_override = 0))"
            " ORDER BY id", (utc_text(sent_since),))
        return [_row_to_record(r) for r in rows]

    def wanting_follow_up(self) -> list[Record]:
        """Sent requests that asked for a follow-up and have none yet."""
        rows = self._query(
            "SELECT * FROM requests AS r WHERE r.status = 'sent' AND r.kind = 'request' "
            "AND r.follow_up_days IS NOT NULL AND NOT EXISTS (SELECT 1 FROM requests AS c "
            "WHERE c.parent_id = r.id AND c.kind = 'follow-up') ORDER BY r.id")
        return [_row_to_record(r) for r in rows]

    def add_follow_up(self, req: NewRequest) -> Record | None:
        """Store a request's one follow-up; None if it already has one (made by another run)."""
        assert req.kind == "follow-up" and req.parent_id is not None
        try:
            return self.add(req)
        except Failure:
            if self.children_of_kind(req.parent_id, "follow-up"):
                return None
            raise

    def children_of_kind(self, parent_id: int, kind: str) -> list[Record]:
        """Return a request's thank-yous or follow-ups."""
        return [r for r in self.children(parent_id) if r.kind == kind]

    def retry(self, request_id: int, send_at: datetime) -> Record:
        """Put an interrupted or failed request back in the queue."""
        return self._update(request_id, ("interrupted", "failed"), "retried",
                            status="scheduled", send_at=utc_text(send_at), next_try_at=None,
                            attempts=0, last_error=None, claim_token=None, claim_pid=None,
                            claim_host=None, claim_until=None)

    def record_reply(self, request_id: int, reply: str, now: datetime) -> Record:
        """Store the answer that came back; status replied."""
        return self._update(request_id, ("sent", "replied"), "marked as replied",
                            status="replied", reply=reply, replied_at=utc_text(now))

    # --- claims -------------------------------------------------------------------------------

    def expire_claims(self, now: datetime) -> list[int]:
        """Mark `sending` requests whose process is gone or whose lease ran out `interrupted`."""
        host = _hostname()
        rows = self._query("SELECT id, claim_pid, claim_host, claim_until FROM requests "
                           "WHERE status = 'sending'")
        stale = []
        for row in rows:
            until = from_utc_text(row["claim_until"])
            gone = row["claim_host"] == host and row["claim_pid"] is not None and not _pid_alive(
                row["claim_pid"])
            if gone or until is None or until <= now:
                stale.append(row["id"])
        if not stale:
            return []
        marked = []
        with self.transaction() as conn:
            for request_id in stale:
                cursor = conn.execute(
                    "UPDATE requests SET status = 'interrupted', last_error = ? "
                    "WHERE id = ? AND status = 'sending'",
                    ("the sending process stopped during the SMTP transaction; the message "
                     "may or may not have been delivered", request_id))
                if cursor.rowcount:
                    marked.append(request_id)
        return marked

    def claim(self, request_id: int, now: datetime, lease: timedelta,
              build: Callable[[Record], bytes]) -> Claim | None:
        """Take one due request for sending, storing the exact bytes about to be sent.

        The message is built from the row as it is inside the claiming transaction, so an edit
        that got in before the claim is what goes out, and none can get in after it. A row that
        cannot be built into a message is marked failed with the reason (the returned claim's
        record says so) instead of stopping the queue behind it. The same durable commit writes
        the previous message's mark_sent, if any, and the claim is not read back.
        """
        token = os.urandom(16).hex()  # what uuid4().hex holds, without importing uuid
        stamp = utc_text(now)
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM requests WHERE id = ? AND status = 'scheduled' AND send_at <= ? "
                "AND earliest_send_at <= ? AND (next_try_at IS NULL OR next_try_at <= ?)",
                (request_id, stamp, stamp, stamp)).fetchone()
            if row is None:
                return None  # another run took it, or it was edited, cancelled or moved
            record = _row_to_record(row)
            try:
                if record.problem is not None:
                    raise ValueError(record.problem)
                eml = build(record)
            except (DraftFeedbackError, ValueError, TypeError, LookupError) as exc:
                conn.execute(
                    "UPDATE requests SET status = 'failed', attempts = attempts + 1, "
                    "last_error = ? WHERE id = ?",
                    (f"the message could not be built, so nothing was sent: {exc}; cancel it "
                     "and draft it again", request_id))
                token = ""
            else:
                conn.execute(
                    "UPDATE requests SET status = 'sending', claim_token = ?, claim_pid = ?, "
                    "claim_host = ?, claim_until = ?, attempts = attempts + 1, eml = ? "
                    "WHERE id = ?",
                    (token, os.getpid(), _hostname(), utc_text(now + lease), eml,
                     request_id))
                return Claim(replace(record, status="sending", claim_token=token,
                                     claim_pid=os.getpid(),
                                     claim_until=from_utc_text(utc_text(now + lease)),
                                     attempts=record.attempts + 1, eml=eml), token)
        return Claim(self.get(request_id), token)

    def mark_sent(self, claim: Claim, now: datetime) -> bool:
        """Record that the server accepted the message.

        The change is written by the next write of this outbox: the next claim's transaction,
        so that one durable commit per message covers both, or flush(), or before any read.
        A power cut in between leaves the request `sending` and so `interrupted`, never
        queued again. A claim found lost by then is named in `lost_sent`.
        """
        if self._sent is not None:
            self.flush()
        self._sent = (claim.record.id, claim.token, utc_text(now))
        return True

    def flush(self) -> None:
        """Write, durably, a sent message that mark_sent has not written yet."""
        if self._sent is not None:
            with self.transaction():
                pass

    def mark_retry(self, claim: Claim, error: str, retry_at: datetime) -> Record:
        """A transient failure: back in the queue after a delay, or failed after the last try."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE requests SET status = CASE WHEN attempts >= ? THEN 'failed' "
                "ELSE 'scheduled' END, next_try_at = ?, last_error = ?, claim_token = NULL, "
                "claim_pid = NULL, claim_host = NULL, claim_until = NULL "
                "WHERE id = ? AND claim_token = ? AND status = 'sending'",
                (MAX_ATTEMPTS, utc_text(retry_at), error, claim.record.id, claim.token))
        return self.get(claim.record.id)

    def mark_failed(self, claim: Claim, error: str) -> Record:
        """A permanent refusal: failed, with the server's reply."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE requests SET status = 'failed', last_error = ?, claim_until = NULL "
                "WHERE id = ? AND claim_token = ? AND status = 'sending'",
                (error, claim.record.id, claim.token))
        return self.get(claim.record.id)

    def mark_interrupted(self, claim: Claim, error: str) -> Record:
        """The connection broke while the server had the message: never resent automatically."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE requests SET status = 'interrupted', last_error = ?, claim_until = NULL "
                "WHERE id = ? AND claim_token = ? AND status = 'sending'",
                (error, claim.record.id, claim.token))
        return self.get(claim.record.id)

    def note_attempts(self, request_ids: Sequence[int], error: str, now: datetime,
                      delay: Callable[[int], timedelta]) -> None:
        """Count a failed attempt on queued requests the run could not reach the server for."""
        with self.transaction() as conn:
            for request_id in request_ids:
                row = conn.execute("SELECT attempts FROM requests WHERE id = ? AND "
                                   "status = 'scheduled'", (request_id,)).fetchone()
                if row is None:
                    continue
                attempts = row["attempts"] + 1
                conn.execute(
                    "UPDATE requests SET attempts = ?, last_error = ?, next_try_at = ?, "
                    "status = ? WHERE id = ? AND status = 'scheduled'",
                    (attempts, error, utc_text(now + delay(attempts)),
                     "failed" if attempts >= MAX_ATTEMPTS else "scheduled", request_id))

    def release(self, claim: Claim) -> None:
        """Give a claim back untouched (the run stopped before talking to the server)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE requests SET status = 'scheduled', attempts = attempts - 1, "
                "claim_token = NULL, claim_pid = NULL, claim_host = NULL, claim_until = NULL, "
                "eml = NULL WHERE id = ? AND claim_token = ? AND status = 'sending'",
                (claim.record.id, claim.token))
