"""A real Dovecot IMAP server for tests: a throwaway instance on free loopback ports.

Dovecot runs in the foreground as our child with its own config, passwd-file, base_dir and log
under a temporary folder. Each test gets its own account and Maildir; messages are delivered the
way a local delivery agent does it: written into tmp/, then renamed into new/.
Under root (CI), the mail processes run as `nobody` (Dovecot refuses mail access as root), and
the login and internal processes as Dovecot's own unprivileged users.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-s3cret-ü"  # non-ASCII on purpose: the client must send it as UTF-8


def dovecot_available() -> bool:
    """True if the dovecot binary (Debian's dovecot-imapd) is installed."""
    return Path(DOVECOT).is_file() and os.access(DOVECOT, os.X_OK)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group(name: str) -> grp.struct_group | None:
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def _user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


@dataclass
class Account:
    """One mail account on the test server, with its own Maildir."""

    user: str
    password: str
    maildir: Path
    server: ImapServer
    _counter: itertools.count = field(default_factory=itertools.count)

    def deliver(self, data: bytes, when: float | None = None) -> Path:
        """Deliver one message as an LDA would: write it in tmp/, rename it into new/."""
        stamp = when if when is not None else time.time()
        name = f"{int(stamp)}.M{next(self._counter)}P{os.getpid()}.test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(data)
        os.utime(tmp, (stamp, stamp))  # Dovecot takes INTERNALDATE from the file's mtime
        target = self.maildir / "new" / name
        os.rename(tmp, target)
        return target

    def deliver_many(self, messages: Iterable[bytes], when: float | None = None) -> int:
        """Deliver many messages quickly, each written once and renamed into new/."""
        count = 0
        for data in messages:
            self.deliver(data, when)
            count += 1
        return count

    def flags(self) -> list[str]:
        """Return each delivered file's location and Maildir flags, to check nothing changed."""
        out = []
        for sub in ("new", "cur"):
            for path in sorted((self.maildir / sub).iterdir()):
                out.append(f"{sub}/{path.name.partition(':')[2]}")
        return out


@dataclass
class ImapServer:
    """A running Dovecot: plain IMAP (STARTTLS offered) and IMAPS, both on 127.0.0.1."""

    folder: Path
    port: int
    tls_port: int
    cafile: Path
    process: subprocess.Popen[bytes]
    log: Path
    mail_uid: int
    mail_gid: int
    _accounts: itertools.count = field(default_factory=itertools.count)

    host = "127.0.0.1"

    def account(self) -> Account:
        """A fresh account of its own, with an empty Maildir."""
        number = next(self._accounts)
        user = f"reader{number}@example.com"
        home = self.folder / "mail" / f"reader{number}"
        maildir = home / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        for path in (home, maildir, *(maildir / s for s in ("new", "cur", "tmp"))):
            os.chown(path, self.mail_uid, self.mail_gid)
        if number >= ACCOUNTS:
            # Dovecot re-reads the passwd-file at most once a second, when it has changed.
            with (self.folder / "passwd").open("a", encoding="utf-8") as handle:
                handle.write(_passwd_line(self.folder, number, self.mail_uid, self.mail_gid))
            time.sleep(1.1)
        return Account(user, PASSWORD, maildir, self)

    def stop(self) -> None:
        """Stop Dovecot and every process it started."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


ACCOUNTS = 200  # written before the start: one per test, no reload to wait for


def _passwd_line(folder: Path, number: int, uid: int, gid: int) -> str:
    home = folder / "mail" / f"reader{number}"
    return (f"reader{number}@example.com:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::"
            f"userdb_mail=maildir:{home / 'Maildir'}\n")


def _config(folder: Path, port: int, tls_port: int, cert: Path, key: Path, login_user: str,
            internal_user: str, first_uid: int, internal_group: str = "dovecot") -> str:
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = {first_uid}
first_valid_gid = 0
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
# Plain text logins on the loopback port, for imap.security: none against a local server.
disable_plaintext_auth = no
auth_mechanisms = plain login
# A refused login answers at once: the tests try wrong passwords on purpose.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = {folder}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _open_path(folder: Path) -> None:
    """Let unprivileged processes reach `folder` (mkdtemp makes it 0700)."""
    path = folder
    while path != path.parent and path != Path("/tmp") and path != Path("/"):
        mode = path.stat().st_mode & 0o777
        if mode & 0o011 != 0o011:
            os.chmod(path, mode | 0o011)
        path = path.parent


def start(folder: Path) -> ImapServer:
    """Start Dovecot in `folder` and wait until both ports accept connections."""
    from smtp_faults import self_signed_certificate

    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(folder)
    (folder / "mail").mkdir()
    internal_group = "dovecot" if _group("dovecot") else "nogroup"
    if os.geteuid() == 0:
        nobody = _user("nobody")
        assert nobody is not None, "no 'nobody' user to own the test mail"
        mail_uid, mail_gid = nobody.pw_uid, nobody.pw_gid
        login_user = "dovenull" if _user("dovenull") else "nobody"
        internal_user = "dovecot" if _user("dovecot") else "nobody"
        _open_path(folder)
        os.chown(folder / "mail", mail_uid, mail_gid)
        for path in (cert, key):
            os.chmod(path, 0o644)
    else:
        me = pwd.getpwuid(os.getuid())
        mail_uid, mail_gid = me.pw_uid, me.pw_gid
        login_user = internal_user = me.pw_name
        # Without root every process, socket and file belongs to this user and its group.
        internal_group = grp.getgrgid(me.pw_gid).gr_name
    (folder / "passwd").write_text("".join(
        _passwd_line(folder, n, mail_uid, mail_gid) for n in range(ACCOUNTS)), encoding="utf-8")
    if os.geteuid() == 0:
        os.chmod(folder / "passwd", 0o644)
    port, tls_port = _free_port(), _free_port()
    conf = folder / "dovecot.conf"
    conf.write_text(_config(folder, port, tls_port, cert, key, login_user, internal_user,
                            min(mail_uid, 500) or 1, internal_group), encoding="utf-8")
    log = folder / "dovecot.log"
    with (folder / "dovecot.stderr").open("wb") as stderr:
        process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                   stderr=stderr)
    server = ImapServer(folder, port, tls_port, cert, process, log, mail_uid, mail_gid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if all(_accepts(p) for p in (port, tls_port)):
            return server
        time.sleep(0.05)
    server.stop()
    details = "\n".join(p.read_text(errors="replace")[-2000:]
                        for p in (folder / "dovecot.stderr", log) if p.exists())
    raise RuntimeError(f"dovecot did not start:\n{details}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
