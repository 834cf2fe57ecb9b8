"""Kept code for the methods dataclasses writes: the same code as compiling, never a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from draft_feedback import cache, generated

# Imports every module of the package, then prints, for every dataclass in it, the compiled code
# of each method dataclasses wrote, and whether any source had to be compiled afresh.
PROBE = """\
import dataclasses, hashlib, json, pkgutil, sys, importlib
import draft_feedback
if sys.argv[1] == "kept":
    from draft_feedback import generated
    generated.install()
for info in pkgutil.iter_modules(draft_feedback.__path__):
    importlib.import_module("draft_feedback." + info.name)
def canon(code):
    # What decides what the code does; marshal's own bytes also depend on reference counts.
    consts = tuple(canon(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts)
    return repr((code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars,
                 code.co_cellvars, code.co_flags, code.co_argcount, code.co_posonlyargcount,
                 code.co_kwonlyargcount, code.co_nlocals, code.co_stacksize, code.co_name,
                 code.co_qualname, code.co_firstlineno, code.co_linetable,
                 code.co_exceptiontable, code.co_filename))
methods = {}
for name, module in sorted(sys.modules.items()):
    if not name.startswith("draft_feedback"):
        continue
    for value in list(vars(module).values()):
        if isinstance(value, type) and dataclasses.is_dataclass(value) \\
                and value.__module__ == name:
            for attr, fn in sorted(vars(value).items()):
                code = getattr(fn, "__code__", None)
                if code is not None and code.co_filename == "<string>":
                    key = f"{name}.{value.__qualname__}.{attr}"
                    methods[key] = hashlib.sha256(canon(code).encode()).hexdigest()
missed = generated._missed if sys.argv[1] == "kept" else None
kept = len(generated._kept) if sys.argv[1] == "kept" else None
print(json.dumps({"methods": methods, "missed": missed, "kept": kept}))
"""


def probe(mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def kept_files() -> list[Path]:
    return sorted(Path(cache.cache_dir(), generated.KIND).glob("*.marshal"))


@pytest.mark.slow
def test_kept_code_is_the_code_dataclasses_compiles_for_every_record_type() -> None:
    fresh = probe("plain")
    first = probe("kept")  # compiles and keeps
    assert first["missed"] is True
    assert len(kept_files()) == 1
    again = probe("kept")  # every method from kept code
    assert again["missed"] is False
    assert isinstance(again["kept"], int) and again["kept"] > 100
    methods = fresh["methods"]
    assert isinstance(methods, dict) and len(methods) > 150
    assert again["methods"] == first["methods"] == methods


def damage_cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damage_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"\x00 not kept code " * 8)


def stale_build(path: Path) -> None:
    import marshal

    _, entries = marshal.loads(path.read_bytes()[32:])
    payload = marshal.dumps((b"another interpreter", entries))
    path.write_bytes(cache.digest(generated.FORMAT, payload).encode() + payload)


def bad_entry(path: Path) -> None:
    import marshal

    key, entries = marshal.loads(path.read_bytes()[32:])
    payload = marshal.dumps((key, {k: b"not code" for k in entries}))
    path.write_bytes(cache.digest(generated.FORMAT, payload).encode() + payload)


@pytest.mark.slow
@pytest.mark.parametrize("damage", [damage_cut, damage_byte, damage_garbage, stale_build,
                                    bad_entry])
def test_a_damaged_or_stale_file_is_compiled_afresh_and_written_again(damage: object) -> None:
    fresh = probe("plain")
    probe("kept")
    (path,) = kept_files()
    damage(path)  # type: ignore[operator]
    after = probe("kept")
    assert after["missed"] is True
    assert after["methods"] == fresh["methods"]
    assert probe("kept")["missed"] is False  # written again, whole


def test_a_cache_folder_that_cannot_be_written_never_fails_a_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "draft_feedback", "list"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, XDG_CACHE_HOME=str(blocker)))
    assert done.returncode == 0, done.stderr
    assert blocker.read_text(encoding="utf-8") == "in the way\n"


INSPECT_PROBE = """\
import sys
from draft_feedback import generated
generated.install()
print("inspect" in sys.modules)
import dataclasses
@dataclasses.dataclass
class Point:
    x: int
    y: int = 2
print(Point.__doc__, Point(1))
import inspect
print(inspect.signature(Point), inspect.getmodule(inspect) is sys.modules["inspect"])
"""


@pytest.mark.slow
def test_dataclasses_loads_inspect_only_when_it_uses_it() -> None:
    done = subprocess.run([sys.executable, "-c", INSPECT_PROBE], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))
    assert done.stderr == ""
    # Not loaded by dataclasses' import; loaded, and the real one, for a class without a
    # docstring (its signature becomes the docstring) and for anyone importing it afterwards.
    assert done.stdout.splitlines() == [
        "False",
        "Point(x: int, y: int = 2) Point(x=1, y=2)",
        "(x: int, y: int = 2) -> None True",
    ]
