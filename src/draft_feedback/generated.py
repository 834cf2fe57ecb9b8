"""The compiled code of the methods dataclasses writes, kept in the cache folder.

Every @dataclass writes its __init__, __repr__, __eq__ and the rest as Python source and
compiles it when its module is imported: the largest part of importing our own modules (about
20 ms of a new draft here, for some thirty record types). The source of each method is the same
on every run, so its compiled code is kept, named by that exact source, and reused; the result
is the code `exec` would have compiled from it, with the same flags. Only the console command
turns this on (launch.py), for the dataclasses module alone; an entry that cannot be read means
compiling as usual, and a folder that cannot be written only makes the next run slower.
"""

from __future__ import annotations

import marshal
import sys
import types

from draft_feedback import cache

# typing costs a cron tick more than this module's own code (tick.py): read by checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KIND = "code"
FORMAT = b"dataclass methods 1"
MAX_ENTRIES = 2000  # far more than our record types make; past it, keep this run's alone

_kept: dict[str, bytes] = {}
_used: dict[str, bytes] = {}
_missed = False


def build_key() -> bytes:
    """Identify what compiled code depends on: the interpreter's build and its settings."""
    return "\0".join((sys.version, sys.implementation.cache_tag or "", str(marshal.version),
                      str(sys.flags.optimize))).encode()


def install() -> None:
    """Let dataclasses run kept code for the source it writes; save new code at exit."""
    import atexit

    dataclasses = _import_dataclasses()
    if getattr(dataclasses, "exec", None) is kept_exec:
        return
    _load()
    # A module-level name comes before the builtin: only dataclasses' own exec calls see it.
    dataclasses.exec = kept_exec  # type: ignore[attr-defined]
    atexit.register(save)


class _Inspect(types.ModuleType):
    """What dataclasses knows as inspect until it first uses it, then the real module.

    dataclasses imports inspect for one call, made only for a class without a docstring (all
    of ours have one), and inspect brings ast, dis and tokenize along: a sixth of what a cron
    tick with nothing to do spends (tick.py). Anything else importing inspect gets the real one.
    """

    def __getattr__(self, name: str) -> Any:
        import dataclasses
        import inspect

        dataclasses.inspect = inspect  # type: ignore[attr-defined]
        return getattr(inspect, name)


def _import_dataclasses() -> types.ModuleType:
    """Import dataclasses with inspect left for its first use, unless either is loaded."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        import dataclasses

        return dataclasses
    stand_in = _Inspect("inspect")
    sys.modules["inspect"] = stand_in
    try:
        import dataclasses
    finally:
        if sys.modules.get("inspect") is stand_in:
            del sys.modules["inspect"]
    return dataclasses


def kept_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
    """exec() for the source dataclasses writes, compiling each source once."""
    global _missed

    if not isinstance(source, str):
        exec(source, globals, locals)
        return
    code = None
    data = _kept.get(source)
    if data is not None:
        try:
            code = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            code = None
    if code is None:
        # As exec(source) compiles it: no flags inherited (dataclasses.py has no __future__).
        code = compile(source, "<string>", "exec", dont_inherit=True)
        try:
            data = marshal.dumps(code)
        except ValueError:
            data = None
        _missed = True
    if data is not None:
        _used[source] = data
    exec(code, globals, locals)


def save() -> None:
    """Write the kept code if this run compiled any afresh."""
    global _missed

    if not _missed:
        return
    entries = {**_kept, **_used}
    if len(entries) > MAX_ENTRIES:
        entries = dict(_used)
    try:
        payload = marshal.dumps((build_key(), entries))
    except ValueError:
        return
    cache.write(KIND, _file(), cache.digest(FORMAT, payload).encode() + payload)
    _missed = False


def _file() -> str:
    return f"dataclasses-{cache.digest(FORMAT, build_key())}.marshal"


def _load() -> None:
    global _kept

    _kept = {}
    data = cache.read(KIND, _file())
    if data is None:
        return
    try:
        # A digest of the payload first: a file cut short or altered is not read.
        check, payload = data[:32], data[32:]
        if check != cache.digest(FORMAT, payload).encode():
            return
        key, entries = marshal.loads(payload)
        if key == build_key() and isinstance(entries, dict) and all(
                isinstance(k, str) and isinstance(v, bytes) for k, v in entries.items()):
            _kept = entries
    except (ValueError, EOFError, TypeError):
        _kept = {}
