"""Overlap the stages of a load: reading runs ahead in one thread, writing behind in another.

The heavy parts (the CSV parser, the engine, the Parquet encoder, the checksum) release the
interpreter lock, so on two cores the stages run side by side instead of one after another.
Queues are short, so memory stays bounded: at most `depth` chunks wait between two stages.
An error in any stage reaches the caller; the other threads stop.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_DONE = object()
_POLL = 0.1


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put unless told to stop; True when the item went in."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def run_ahead(items: Iterable[T], depth: int = 2, name: str = "read-ahead") -> Iterator[T]:
    """Iterate `items` in a background thread, up to `depth` items ahead of the consumer."""
    q: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not _put(q, (item, None), stop):
                    return
            _put(q, (_DONE, None), stop)
        except BaseException as exc:  # handed to the consumer, raised there
            _put(q, (_DONE, exc), stop)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class RunBehind(Generic[T]):
    """Hand items to `consume` in a background thread; `close` waits and raises its error."""

    def __init__(self, consume: Callable[[T], None], depth: int = 2, name: str = "write-behind"):
        self._consume = consume
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            try:
                self._consume(item)
            except BaseException as exc:
                self._error = exc
                self._stop.set()
                return

    def put(self, item: T) -> None:
        if self._error is not None or not _put(self._queue, item, self._stop):
            self._raise()

    def close(self) -> None:
        """Wait until every item is consumed."""
        if self._error is None:
            _put(self._queue, _DONE, self._stop)
        self._thread.join()
        if self._error is not None:
            self._raise()

    def abandon(self) -> None:
        """Stop without consuming what is left (after an error elsewhere)."""
        self._stop.set()
        self._thread.join()

    def _raise(self) -> None:
        self._thread.join()
        assert self._error is not None
        raise self._error

    def __enter__(self) -> RunBehind[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()


class SafeInterrupt:
    """Ctrl+C during a threaded step, raised only where the step can stop cleanly.

    A KeyboardInterrupt raised wherever the main thread happens to be can cut an engine
    fetch short (a short Arrow table, then a length error) or end the interpreter while the
    reader and writer threads still run native code (an abort at shutdown). Inside this
    block Ctrl+C only sets a flag; `check()` raises it between steps, and leaving the block
    raises it if no check did. Outside the main thread it does nothing (Python runs signal
    handlers there only).
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._previous: Any = None
        self._installed = False

    def _note(self, signum: int, frame: Any) -> None:
        self.requested.set()

    def check(self) -> None:
        if self.requested.is_set():
            raise KeyboardInterrupt

    def __enter__(self) -> SafeInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._note)
            self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
        if kind is None:
            self.check()
