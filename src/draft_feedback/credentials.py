"""The SMTP password: the environment variable, then the keyring. Only here is keyring used."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

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


def store_password(user: str, password: str, service: str = SERVICE) -> None:
    """Keep the password in the keyring, then read it back (some backends drop it silently)."""
    import keyring

    with _keyring_errors(user):
        keyring.set_password(service, user, password)
        stored = keyring.get_password(service, user)
    if stored != password:
        raise _no_backend(user, "the keyring did not keep the password")


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
