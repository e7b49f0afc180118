"""Stop requests (SIGTERM, SIGINT) that reach a run while its compiled loop is running.

Python runs a signal handler only when the main thread next executes Python code, which it
does not do while TensorFlow runs the many-steps loop. The interpreter's own C-level handler
does write the signal's number to a "wakeup" file descriptor at once, from whichever thread
the kernel chose; a small thread reads that descriptor and calls the callbacks, which set a
flag the compiled loop reads after every step (`TrainRunner.request_stop`)."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from typing import Callable

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by `signum` (143 for SIGTERM, 130 for
    SIGINT); cluster schedulers read 128 and above as "restart me"."""
    return 128 + signum


class StopRequest:
    """`with StopRequest([callback]) as stop:` — `stop` is true once SIGTERM or SIGINT
    arrived (or `set` was called); `stop.signum` says which signal. Outside the main thread,
    signals are left alone and only `set` stops."""

    def __init__(self, callbacks: tuple[Callable[[], None], ...] = ()):
        self.event = threading.Event()
        self.signum: int | None = None
        self._callbacks = list(callbacks)
        self._previous: dict[int, object] = {}
        self._previous_wakeup_fd: int | None = None
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is not threading.main_thread():
            return self
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._sockets = (reader, writer)
        for sig in SIGNALS:
            # A Python-level handler must exist for the C handler to write the wakeup fd;
            # the watcher thread does the work.
            self._previous[sig] = signal.signal(sig, lambda signum, frame: None)
        self._previous_wakeup_fd = signal.set_wakeup_fd(writer.fileno(),
                                                        warn_on_full_buffer=False)
        self._watcher = threading.Thread(target=self._watch, name="stop-request", daemon=True)
        self._watcher.start()
        return self

    def set(self, signum: int | None = None, message: str = "") -> None:
        """Requests the stop (as a signal would) and logs `message`; the first request
        wins."""
        if self.event.is_set():
            return
        self.signum = signum
        if message:
            log.warning("%s", message)
        self.event.set()
        for callback in self._callbacks:
            callback()

    def _watch(self) -> None:
        reader = self._sockets[0]
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:  # closed by __exit__
                return
            for signum in data:
                if signum in SIGNALS:
                    self.set(signum, f"received {signal.Signals(signum).name}: stopping "
                                     "after the current step and saving a checkpoint")

    def __exit__(self, *exc) -> None:
        if self._sockets is None:
            return
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        reader, writer = self._sockets
        writer.close()
        reader.shutdown(socket.SHUT_RDWR)
        self._watcher.join(timeout=5)
        reader.close()
        self._sockets = None

    def __bool__(self) -> bool:
        return self.event.is_set()
