"""The SMTP password: the environment variable, then the keyring. Only here is keyring used."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from draft_feedback.config import IMAP_PASSWORD_ENV, PASSWORD_ENV
from draft_feedback.errors import Failure

SERVICE = "draft-feedback"
YAGMAIL_SERVICE = "yagmail"
IMAP_SERVICE = "draft-feedback-imap"  # only when the IMAP password differs from the SMTP one


def _no_backend(user: str, detail: str) -> Failure:
    return Failure(
        f"no usable system keyring for the SMTP password of {user} ({detail}); set "
        f"{PASSWORD_ENV} in the environment of the command instead (for cron, in the crontab "
        "line or a file only you can read)"
    )


def get_password(user: str) -> str:
    """Return the password from the environment, our keyring entry, or yagmail's entry."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    import keyring

    with _keyring_errors(user):
        for service in (SERVICE, YAGMAIL_SERVICE):
            password = keyring.get_password(service, user)
            if password:
                return password
    raise Failure(
        f"no SMTP password stored for {user}; run `draft-feedback login` to keep it in the "
        f"system keyring, or set {PASSWORD_ENV}"
    )


def get_imap_password(user: str, same_as_smtp: bool) -> str:
    """Return the IMAP password: its variable or keyring entry, else the SMTP password's."""
    from_env = os.environ.get(IMAP_PASSWORD_ENV)
    if from_env:
        return from_env
    import keyring

    with _keyring_errors(user):
        password = keyring.get_password(IMAP_SERVICE, user)
    if password:
        return password
    if same_as_smtp:
        try:
            return get_password(user)
        except Failure:
            pass
    raise Failure(
        f"no IMAP password stored for {user}; run `draft-feedback login --imap` to keep it in "
        f"the system keyring, or set {IMAP_PASSWORD_ENV}"
        + (f" (or {PASSWORD_ENV} when it is the same as the SMTP one)" if same_as_smtp else "")
    )


def store_password(user: str, password: str, allow_insecure: bool = False,
                   service: str = SERVICE) -> str:
    """Keep the password in the keyring, then read it back; return where it went.

    A backend that writes the password where anyone reading the user's files can see it is
    refused unless allow_insecure: `login` must not say "keyring" for a text file.
    """
    import keyring

    with _keyring_errors(user):
        backend = keyring.get_keyring()
        where = describe_backend(backend)
        reason = insecure_reason(backend)
        if reason is not None and not allow_insecure:
            raise Failure(
                f"the keyring backend in use is {where}, which {reason}; nothing was stored. "
                "Install a system keyring (GNOME Keyring, KWallet, macOS Keychain, Windows "
                f"Credential Locker), or set {PASSWORD_ENV} in the environment of the command "
                "instead, or add --allow-insecure-keyring to store it there anyway"
            )
        keyring.set_password(service, user, password)
        stored = keyring.get_password(service, user)
    if stored != password:
        raise _no_backend(user, "the keyring did not keep the password")
    return where + (f", which {reason}" if reason else "")


def _chosen(backend: Any) -> Any:
    """The backend that really stores: a chain writes to its first member."""
    members = getattr(backend, "backends", None)
    if isinstance(members, list) and members:
        return members[0]
    return backend


def describe_backend(backend: Any) -> str:
    """Name a keyring backend for the user: its display name and where it comes from."""
    chosen = _chosen(backend)
    cls = type(chosen)
    name = getattr(cls, "name", cls.__name__)
    return f"{name} ({cls.__module__}.{cls.__name__})"


def insecure_reason(backend: Any) -> str | None:
    """Say why a backend is no safe home for a password, or None if it is a real keyring."""
    chosen = _chosen(backend)
    cls = type(chosen)
    label = f"{cls.__module__}.{cls.__name__}".lower()
    path = getattr(chosen, "file_path", None)
    if "plaintext" in label or "plain_text" in label:
        return "keeps passwords in a plain text file" + (f" ({path})" if path else "")
    if path is not None or ".file" in cls.__module__ or "file" in cls.__name__.lower():
        return "keeps passwords in a file of its own" + (f" ({path})" if path else "")
    try:
        priority = float(chosen.priority)
    except Exception:  # noqa: BLE001 - a backend that cannot rank itself is no safe home
        return "cannot say whether it is usable here"
    if priority < 1:
        return (f"ranks itself as a fallback (priority {priority:g}), not a system keyring; "
                "it is what keyring picks when no real one is found")
    return None


def delete_password(user: str, service: str = SERVICE) -> bool:
    """Remove our keyring entry; False if there was none."""
    import keyring
    from keyring.errors import PasswordDeleteError

    with _keyring_errors(user):
        try:
            keyring.delete_password(service, user)
        except PasswordDeleteError:
            return False
    return True


@contextmanager
def _keyring_errors(user: str) -> Iterator[None]:
    """Turn any keyring failure (NoKeyringError included) into the message naming the variable."""
    from keyring.errors import KeyringError

    try:
        yield
    except KeyringError as exc:
        raise _no_backend(user, str(exc) or type(exc).__name__) from None
