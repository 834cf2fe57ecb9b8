"""The built wheel, installed in a fresh virtual environment, drafts from another directory."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_wheel_installs_and_drafts_from_another_directory(tmp_path: Path,
                                                          built_wheel: Path) -> None:
    wheel = built_wheel
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    # The dependencies come from this environment's site-packages as a plain path entry:
    # its .pth files (the editable install of this checkout) are not processed there.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True)
    Path(site.stdout.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "DRAFT_FEEDBACK_HOME": str(tmp_path / "data"),
           "DRAFT_FEEDBACK_CONFIG": str(tmp_path / "none.yaml")}
    where = subprocess.run([str(python), "-c", "import draft_feedback; print(draft_feedback."
                            "__file__)"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert str(env_dir) in where.stdout
    result = subprocess.run(
        [str(env_dir / "bin" / "draft-feedback"), "new", "--to",
         "Priya Shah <priya@example.com>", "--org", "Acme", "--role", "Data Analyst",
         "--rejected", "2026-11-20T16:00", "--json"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "draft" and record["id"] == 1
    assert "Priya" in record["body"] and record["findings"] == []
    init = subprocess.run([str(env_dir / "bin" / "draft-feedback"), "config", "init",
                           "--name", "Ana López", "--email", "ana@example.org"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    assert "sender:" in (tmp_path / "none.yaml").read_text()


def test_help_does_not_import_heavy_modules() -> None:
    code = ("import sys; from draft_feedback.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('yagmail', 'keyring', 'jinja2', 'yaml', 'sqlite3', "
            "'email_validator', 'platformdirs') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
