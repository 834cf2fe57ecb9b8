"""Where `login` keeps the password: a real keyring, or a file only when the user says so."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import keyring
from click.testing import Result
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from conftest import MemoryKeyring

Run = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]


class PlaintextFileKeyring(KeyringBackend):
    """A backend like keyrings.alt's: passwords in a JSON file, as plain text."""

    priority = 0.5  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.file_path = str(path)

    def _load(self) -> dict[str, str]:
        path = Path(self.file_path)
        return json.loads(path.read_text()) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        Path(self.file_path).write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        Path(self.file_path).write_text(json.dumps(data))


class FallbackKeyring(MemoryKeyring):
    """A backend whose name says nothing, but which ranks itself below a system keyring."""

    priority = 0.2  # type: ignore[assignment]


def test_login_names_the_keyring_it_used(run: Run, config_file: Path, memory_keyring) -> None:
    result = run("login", "--password-stdin", input="s3cret\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == ("SMTP password for alex@example.com stored in conftest MemoryKeyring "
                             "(conftest.MemoryKeyring), service draft-feedback.\n")
    assert memory_keyring.store[("draft-feedback", "alex@example.com")] == "s3cret"


def test_a_plaintext_file_backend_is_refused(run: Run, config_file: Path,
                                             tmp_path: Path) -> None:
    store = tmp_path / "keyring.json"
    keyring.set_keyring(PlaintextFileKeyring(store))
    result = run("login", "--password-stdin", input="s3cret\n")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the keyring backend in use is test credentials PlaintextFileKeyring "
        "(test_credentials.PlaintextFileKeyring), which keeps passwords in a plain text file "
        f"({store}); nothing was stored. Install a system keyring (GNOME Keyring, KWallet, "
        "macOS Keychain, Windows Credential Locker), or set DRAFT_FEEDBACK_SMTP_PASSWORD in "
        "the environment of the command instead, or add --allow-insecure-keyring to store it "
        "there anyway\n")
    assert not store.exists()


def test_a_file_backend_is_used_when_allowed_and_says_so(run: Run, config_file: Path,
                                                         tmp_path: Path) -> None:
    store = tmp_path / "keyring.json"
    keyring.set_keyring(PlaintextFileKeyring(store))
    result = run("login", "--password-stdin", "--allow-insecure-keyring", input="s3cret\n")
    assert result.exit_code == 0, result.output
    assert f"which keeps passwords in a plain text file ({store})" in result.stdout
    assert json.loads(store.read_text()) == {"draft-feedback/alex@example.com": "s3cret"}


def test_a_fallback_backend_is_refused(run: Run, config_file: Path) -> None:
    backend = FallbackKeyring()
    keyring.set_keyring(backend)
    result = run("login", "--password-stdin", input="s3cret\n")
    assert result.exit_code == 1
    assert "ranks itself as a fallback (priority 0.2), not a system keyring" in result.stderr
    assert backend.store == {}


def test_the_test_extras_bring_no_keyring_backend() -> None:
    # A backend installed with the test extras becomes the user's keyring in that venv.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"],
              *(d for extra in project["optional-dependencies"].values() for d in extra)]
    assert not [d for d in wanted if d.lower().startswith(("keyrings", "keyrings.alt"))]

