"""The per-user cache folder: help text, compiled templates and the built-in data as JSON.

Everything kept here is rebuilt from the installed files when missing or stale, and every entry
is keyed on the content of what it was made from, never on modification times alone. A folder
that cannot be read or written makes a command slower, never makes it fail. This module is read
before any other on `--help`, so it imports nothing beyond what the interpreter has loaded.
"""

from __future__ import annotations

import os
import sys

APP_NAME = "draft-feedback"


def cache_dir() -> str:
    """Return the cache folder: $XDG_CACHE_HOME/draft-feedback, else the platform's own."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, APP_NAME)
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Caches"), APP_NAME)
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(local, APP_NAME, "Cache")
    return os.path.join(os.path.expanduser("~/.cache"), APP_NAME)


def digest(*parts: bytes) -> str:
    """Return a short hex digest of the parts, each prefixed by its length."""
    from _blake2 import blake2b  # hashlib would load OpenSSL first; this is all that is needed

    h = blake2b(digest_size=16)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def entry_path(kind: str, name: str) -> str:
    """Return where an entry of a kind ('help', 'jinja', 'data') is kept."""
    return os.path.join(cache_dir(), kind, name)


def read(kind: str, name: str) -> bytes | None:
    """Return a cached entry, or None if there is none or it cannot be read."""
    try:
        with open(entry_path(kind, name), "rb") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def write(kind: str, name: str, data: bytes) -> bool:
    """Store an entry atomically (a reader sees the old one or the new one); False if it failed.

    Two processes may write the same entry at once; each writes its own temporary file and the
    last rename wins, with identical content.
    """
    folder = os.path.join(cache_dir(), kind)
    temp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            _unlink(temp)
            raise
        os.replace(temp, os.path.join(folder, name))
    except (OSError, ValueError):
        _unlink(temp)
        return False
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
