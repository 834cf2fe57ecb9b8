"""A wall-clock limit on a block of work that could otherwise hang, on every platform."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# One watchdog thread serves every deadline: starting a thread per render cost about as much
# as rendering a built-in template.
_wake = threading.Condition(threading.Lock())
_pending: dict[int, tuple[float, int, type[BaseException]]] = {}  # token -> due, thread, class
_fired: set[int] = set()
_tokens = itertools.count()
_watchdog: threading.Thread | None = None


@contextmanager
def deadline(seconds: float, error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise error() inside the block once `seconds` have passed, in any thread, on any OS.

    A watchdog thread raises an exception in the guarded thread (SIGALRM does not exist on
    Windows and reaches only the main thread). Like a signal handler, it takes effect between
    two Python steps: a blocking socket read is bounded by the socket's own timeout, and the
    deadline fires as soon as the read returns.
    """
    global _watchdog
    expired = _expiry_class(error())
    target = threading.get_ident()
    token = next(_tokens)
    with _wake:
        if _watchdog is None or not _watchdog.is_alive():  # first use, or after a fork
            _watchdog = threading.Thread(target=_watch, name="draft-feedback deadline",
                                         daemon=True)
            _watchdog.start()
        _pending[token] = (time.monotonic() + seconds, target, expired)
        _wake.notify()
    try:
        yield
    finally:
        _stop(token, target, expired)


def _watch() -> None:
    """Raise each deadline's exception in its thread when it is due."""
    with _wake:
        while True:
            if not _pending:
                _wake.wait()
                continue
            token, (due, target, expired) = min(_pending.items(), key=lambda item: item[1][0])
            delay = due - time.monotonic()
            if delay > 0:
                _wake.wait(delay)
                continue
            del _pending[token]
            _fired.add(token)
            _raise_in(target, expired)


def _stop(token: int, target: int, expired: type[BaseException]) -> None:
    """Forget the deadline and withdraw its exception if it was raised but has not arrived."""
    while True:
        try:
            with _wake:
                _pending.pop(token, None)
                if token in _fired:
                    _fired.discard(token)
                    _raise_in(target, None)
            return
        except expired:  # arrived while stopping: the block has finished, so it is moot
            continue


def _expiry_class(example: BaseException) -> type[BaseException]:
    """Return a class of its own that is raised as `example` would be.

    The watchdog can only schedule a class, built with no arguments. A subclass of the
    caller's error keeps what code between here and the block does with it (smtplib closes
    its socket on an OSError and says "timed out"), and a class per deadline keeps a
    deadline inside another one apart from it.
    """
    base = type(example)
    args = example.args

    def new(cls: type[BaseException]) -> BaseException:
        return base.__new__(cls, *args)

    def init(self: BaseException) -> None:
        base.__init__(self, *args)

    return type(base.__name__, (base,), {"__new__": new, "__init__": init,
                                         "__module__": base.__module__})


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Schedule exc in the thread (None withdraws a pending one); CPython's documented API."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)
