"""A wall-clock limit on a block of work that could otherwise hang, on every platform."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def deadline(seconds: float, error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise error() inside the block once `seconds` have passed, in any thread, on any OS.

    A watchdog thread raises an exception in the guarded thread (SIGALRM does not exist on
    Windows and reaches only the main thread). Like a signal handler, it takes effect between
    two Python steps: a blocking socket read is bounded by the socket's own timeout, and the
    deadline fires as soon as the read returns.
    """
    expired = _expiry_class(error())
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if state["done"]:
                return
            state["fired"] = True
            _raise_in(target, expired)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        _stop(timer, lock, state, target, expired)


def _stop(timer: threading.Timer, lock: threading.Lock, state: dict[str, bool], target: int,
          expired: type[BaseException]) -> None:
    """Stop the watchdog and withdraw an exception it raised that has not arrived yet."""
    while True:
        try:
            with lock:
                state["done"] = True
                if state["fired"]:
                    _raise_in(target, None)
            timer.cancel()
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
