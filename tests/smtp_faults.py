"""A scripted SMTP server on a raw socket, for faults aiosmtpd will not commit.

aiosmtpd always greets, always answers in whole lines and always speaks SMTP. This server can
refuse at the greeting (421), greet with something that is not SMTP, say nothing at all, trickle
its reply a byte at a time, drop the connection at any step, demand STARTTLS it never offers, or
hold any reply until the test releases it (so that a real `draft-feedback` process can be killed
at a known point of the transaction).

Steps are named by the command they answer: CONNECT (the greeting), EHLO, HELO, STARTTLS, AUTH,
MAIL, RCPT, DATA (the 354), DOT (the reply to the end of the message), RSET, NOOP, QUIT.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DROP = "<drop>"  # close the connection instead of answering
STALL = "<stall>"  # never answer; keep the connection open until the server stops

NORMAL = {
    "CONNECT": "220 faults.test ESMTP ready",
    "EHLO": "250-faults.test\r\n250-8BITMIME\r\n250 SIZE 10240000",
    "HELO": "250 faults.test",
    "STARTTLS": "454 4.7.0 TLS not available",
    "AUTH": "535 5.7.8 Authentication credentials invalid",
    "MAIL": "250 2.1.0 OK",
    "RCPT": "250 2.1.5 OK",
    "DATA": "354 End data with <CR><LF>.<CR><LF>",
    "DOT": "250 2.0.0 queued",
    "RSET": "250 2.0.0 OK",
    "NOOP": "250 2.0.0 OK",
    "QUIT": "221 2.0.0 bye",
}


@dataclass
class Script:
    """How the server answers: the normal reply unless `replies` says otherwise."""

    replies: dict[str, str] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)  # steps whose reply waits for release()
    trickle: dict[str, float] = field(default_factory=dict)  # step -> seconds between bytes
    tls: ssl.SSLContext | None = None  # offer STARTTLS with this server context
    implicit_tls: bool = False  # speak TLS from the first byte (smtp.security: ssl)

    def reply(self, step: str) -> str:
        if step == "STARTTLS" and self.tls is not None and step not in self.replies:
            return "220 2.0.0 Ready to start TLS"
        return self.replies.get(step, NORMAL.get(step, "502 5.5.2 command not recognised"))


@dataclass
class Received:
    """A message as this server got it, and whether it said it was accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    accepted: bool = False


class FaultyServer:
    """Listen on 127.0.0.1 and play `script` to every connection, each in its own thread."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.host = "127.0.0.1"
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.1)  # so that stop() is noticed between connections
        self.port = int(self._listener.getsockname()[1])
        self.commands: list[str] = []
        self.messages: list[Received] = []
        self.connections = 0
        self.tls_sessions = 0
        self._reached: dict[str, threading.Event] = {}
        self._released: dict[str, threading.Event] = {}
        self._release_replies: dict[str, str] = {}
        self._stopping = threading.Event()
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # --- control from the test ----------------------------------------------------------------

    def start(self) -> FaultyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for event in list(self._released.values()):
            event.set()
        self._listener.close()
        with self._lock:
            for client in self._clients:
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                client.close()
        self._thread.join(timeout=5)

    def reached(self, step: str) -> threading.Event:
        """Set once a client has reached `step` (its reply, if held, not yet sent)."""
        with self._lock:
            return self._reached.setdefault(step, threading.Event())

    def release(self, step: str, reply: str | None = None) -> None:
        """Let held replies go out; as `reply` instead of the scripted one if given."""
        if reply is not None:
            self._release_replies[step] = reply
        self._release_event(step).set()

    @property
    def accepted(self) -> list[Received]:
        return [m for m in self.messages if m.accepted]

    def _release_event(self, step: str) -> threading.Event:
        with self._lock:
            return self._released.setdefault(step, threading.Event())

    # --- the server ---------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self._clients.append(client)
                self.connections += 1
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _session(self, client: socket.socket) -> None:
        tls = self.script.tls
        opened = [client]  # every socket object of this connection, TLS ones included
        try:
            if tls is not None and self.script.implicit_tls:
                opened.append(tls.wrap_socket(client, server_side=True))
            self._converse(opened, encrypted=tls is not None and self.script.implicit_tls)
        except OSError:  # a client that hangs up, or refuses our certificate
            return
        finally:
            for sock in reversed(opened):
                sock.close()

    def _converse(self, opened: list[socket.socket], encrypted: bool) -> None:
        client = opened[-1]
        lines = client.makefile("rb")
        opened.append(lines)  # type: ignore[arg-type]
        if not self._answer(client, "CONNECT"):
            return
        envelope: dict[str, Any] = {"from": "", "to": []}
        while not self._stopping.is_set():
            line = lines.readline(65536)
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            with self._lock:
                self.commands.append(text)
            step = text.split(" ", 1)[0].split(":", 1)[0].upper()
            if step == "MAIL":
                envelope = {"from": _address(text), "to": []}
            elif step == "RCPT" and self.script.reply("RCPT").startswith("2"):
                envelope["to"].append(_address(text))
            override = None
            if step == "EHLO" and self.script.tls is not None and "EHLO" not in self.script.replies:
                # STARTTLS is offered before TLS, a login only after it, as real servers do.
                override = ("250-faults.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME"
                            if encrypted else "250-faults.test\r\n250-STARTTLS\r\n250 8BITMIME")
            if not self._answer(client, step, override):
                return
            if step == "STARTTLS" and self.script.tls is not None and not encrypted:
                client = self.script.tls.wrap_socket(client, server_side=True)
                lines = client.makefile("rb")
                opened += [client, lines]  # type: ignore[list-item]
                encrypted = True
                with self._lock:
                    self.tls_sessions += 1
            elif step == "DATA" and self.script.reply("DATA").startswith("354"):
                message = _read_message(lines)
                if message is None:
                    return
                received = Received(envelope["from"], list(envelope["to"]), message)
                with self._lock:
                    self.messages.append(received)
                if not self._answer(client, "DOT"):
                    return
                # Accepted only once the whole reply went out: then the client could read it.
                received.accepted = self.script.reply("DOT").startswith("2")
            elif step == "QUIT":
                return

    def _answer(self, client: socket.socket, step: str, override: str | None = None) -> bool:
        """Send the scripted reply to `step`; False if the connection is over."""
        self.reached(step).set()
        held = step in self.script.hold
        if held:
            self._release_event(step).wait(60)
        reply = override or self.script.reply(step)
        if held and step in self._release_replies:
            reply = self._release_replies[step]
        if reply == DROP:
            return False
        if reply == STALL:
            self._stopping.wait(120)
            return False
        data = reply.encode("utf-8") + b"\r\n"
        pause = self.script.trickle.get(step, 0.0)
        if pause:
            for byte in data:
                if self._stopping.wait(pause):
                    return False
                client.sendall(bytes([byte]))
        else:
            client.sendall(data)
        return not reply.startswith("421")


def _address(command: str) -> str:
    start, end = command.find("<"), command.find(">")
    return command[start + 1:end] if 0 <= start < end else ""


def _read_message(lines: object) -> bytes | None:
    """Read DATA up to the lone dot, undoing dot-stuffing; None if the client went away."""
    out: list[bytes] = []
    while True:
        line = lines.readline(1 << 20)  # type: ignore[attr-defined]
        if not line:
            return None
        if line == b".\r\n":
            return b"".join(out)
        out.append(line[1:] if line.startswith(b"..") else line)


@contextmanager
def faulty_server(script: Script | None = None) -> Iterator[FaultyServer]:
    """Run a FaultyServer for the length of a with-block."""
    server = FaultyServer(script).start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate: object, timeout: float = 30.0) -> bool:
    """Poll `predicate()` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and localhost, signed by itself, and its key."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faults.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def server_context(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server-side TLS context with a fresh self-signed certificate, and that certificate."""
    cert_file, key_file = self_signed_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
