"""The SMTP password: the environment variable, then the keyring. Only here is keyring used."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from draft_feedback.config import PASSWORD_ENV
from draft_feedback.errors import Failure

SERVICE = "draft-feedback"
YAGMAIL_SERVICE = "yagmail"


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


def store_password(user: str, password: str) -> None:
    """Keep the password in the keyring, then read it back (some backends drop it silently)."""
    import keyring

    with _keyring_errors(user):
        keyring.set_password(SERVICE, user, password)
        stored = keyring.get_password(SERVICE, user)
    if stored != password:
        raise _no_backend(user, "the keyring did not keep the password")


def delete_password(user: str) -> bool:
    """Remove our keyring entry; False if there was none."""
    import keyring
    from keyring.errors import PasswordDeleteError

    with _keyring_errors(user):
        try:
            keyring.delete_password(SERVICE, user)
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
