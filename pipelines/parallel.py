"""An ordered parallel map over spawned worker processes that fails fast and never hangs.

`multiprocessing.Pool` waits forever when a worker dies (OOM killer, `kill -9`), when its
initializer raises (it respawns the worker again and again), or when a task or result does not
pickle (the error is printed in a feeder thread and the task is lost). This map owns its
workers instead: each gets one chunk at a time through its own pipe, tasks and results cross
as bytes pickled by us (so every pickling error is ours to report), and the parent waits on the
pipes and the processes' sentinels together (so a dead worker is seen at once, with its items).
Whatever goes wrong ends the map with a `WorkerError` that names the item and the cause.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import pickle
import signal
import traceback
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Grace given to workers to exit before they are killed.
_JOIN_SECONDS = 5.0


class WorkerError(RuntimeError):
    """An item could not be processed: its function raised, it or its result does not pickle,
    or the worker process died. The message names the item and the cause."""


def ordered_map(fn: Callable[[T], R], items: Iterable[T], num_workers: int,
                initializer: Callable | None = None, initargs: tuple = (),
                chunksize: int = 16, describe: Callable[[T], str] = repr) -> Iterator[R]:
    """`map(fn, items)` over `num_workers` spawned processes, results in input order.

    Items are read lazily (at most a few chunks per worker are in flight), so the input can be
    larger than memory. `fn`, `initializer` and `describe` must be importable module-level
    functions, from modules that do not import TensorFlow, so that workers start fast and never
    inherit TensorFlow's threads. `describe(item)` names an item in error messages.
    """
    if num_workers <= 1:
        return _serial_map(fn, items, initializer, initargs, describe)
    return _parallel_map(fn, items, num_workers, initializer, initargs, chunksize, describe)


def _serial_map(fn, items, initializer, initargs, describe) -> Iterator:
    if initializer is not None:
        try:
            initializer(*initargs)
        except Exception as e:
            raise WorkerError(f"start-up failed: {type(e).__name__}: {e}") from e
    for item in items:
        try:
            result = fn(item)
        except Exception as e:
            raise WorkerError(f"{describe(item)}: {type(e).__name__}: {e}") from e
        yield result


class _Worker:
    """One spawned process, fed one chunk at a time through its own pipe, so the parent always
    knows which items it holds."""

    def __init__(self, ctx, fn, initializer, initargs, describe, name: str):
        self.conn, child_conn = ctx.Pipe(duplex=True)
        # The position in its chunk of the item it is on, shared memory written per item, so
        # that a worker that dies is reported with the exact item.
        self.position = ctx.RawValue("i", -1)
        self.process = ctx.Process(target=_worker_main, name=name, daemon=True,
                                   args=(child_conn, self.position, fn, initializer, initargs,
                                         describe))
        self.process.start()
        child_conn.close()
        self.chunk_index: int | None = None  # the chunk it is working on

    def send(self, index: int, payload: bytes) -> None:
        self.chunk_index = index
        self.conn.send_bytes(payload)


def _parallel_map(fn, items, num_workers, initializer, initargs, chunksize, describe
                  ) -> Iterator:
    ctx = multiprocessing.get_context("spawn")
    workers = [_Worker(ctx, fn, initializer, initargs, describe, f"ordered_map-{k}")
               for k in range(num_workers)]
    source = iter(items)
    in_flight: dict[int, Sequence] = {}  # chunk index -> its items, until its results arrive
    done: dict[int, list] = {}  # results that arrived before an earlier chunk's
    window = 4 * num_workers  # chunks held at once, in flight or waiting for their turn
    submitted = next_out = 0
    exhausted = finished = False
    try:
        while True:
            while next_out in done:  # first, so that the window has room for more
                yield from done.pop(next_out)
                next_out += 1
            for worker in workers:
                if worker.chunk_index is not None or exhausted:
                    continue
                if len(in_flight) + len(done) >= window:
                    break
                chunk = list(itertools.islice(source, chunksize))
                if not chunk:
                    exhausted = True
                    break
                payload = _pickle_chunk(chunk, describe)
                in_flight[submitted] = chunk
                try:
                    worker.send(submitted, payload)
                except OSError:  # it died while idle (its pipe is closed): say how
                    worker.chunk_index = None
                    _raise_dead(worker, in_flight, describe)
                submitted += 1
            if exhausted and not in_flight and not done:
                finished = True
                return
            by_handle = {w.conn: w for w in workers}
            by_handle.update({w.process.sentinel: w for w in workers})
            ready = multiprocessing.connection.wait(list(by_handle))
            # Messages first: a worker may have said why before it exited.
            for handle in sorted(ready, key=lambda h: h is by_handle[h].process.sentinel):
                worker = by_handle[handle]
                if handle is worker.process.sentinel:
                    _raise_dead(worker, in_flight, describe)
                index, results = worker.chunk_index, _receive(worker, in_flight, describe)
                done[index] = _unpickle_results(results, in_flight.pop(index), describe)
                worker.chunk_index = None
    finally:
        _stop(workers, graceful=finished)


def _receive(worker: _Worker, in_flight: dict[int, Sequence], describe) -> bytes:
    """Reads one message: the pickled results of the worker's chunk, or an error to raise."""
    try:
        kind, payload = pickle.loads(worker.conn.recv_bytes())
    except (EOFError, OSError):  # the worker is gone; its sentinel says how
        _raise_dead(worker, in_flight, describe)
    if kind == "init_failed":
        raise WorkerError(f"worker start-up failed: {payload}")
    if kind == "failed":  # payload names the item and carries the worker's traceback
        raise WorkerError(payload)
    return payload


def _unpickle_results(results: bytes, chunk: Sequence, describe) -> list:
    try:
        return pickle.loads(results)
    except Exception as e:
        raise WorkerError(f"{_describe_chunk(chunk, describe)}: a result could not be read "
                          f"back: {type(e).__name__}: {e}") from e


def _pickle_chunk(chunk: list, describe) -> bytes:
    try:
        return pickle.dumps(chunk)
    except Exception:
        for item in chunk:  # name the first item that does not pickle
            try:
                pickle.dumps(item)
            except Exception as e:
                raise WorkerError(f"{describe(item)}: cannot be sent to a worker process: "
                                  f"{type(e).__name__}: {e}") from e
        raise


def _describe_chunk(chunk: Sequence, describe) -> str:
    if len(chunk) == 1:
        return describe(chunk[0])
    return f"items {describe(chunk[0])} .. {describe(chunk[-1])}"


def _raise_dead(worker: _Worker, in_flight: dict[int, Sequence], describe) -> None:
    # A process closes its sentinel and pipes before the kernel makes it a zombie, so the exit
    # status can still be unknown here: wait for it.
    worker.process.join(_JOIN_SECONDS)
    code = worker.process.exitcode
    if code is None or code >= 0:
        cause = f"exited with status {code}"
    else:
        try:
            cause = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            cause = f"killed by signal {-code}"
        if -code == signal.SIGKILL:
            cause += " (the out-of-memory killer, or kill -9)"
    chunk = in_flight.get(worker.chunk_index, ())
    position = worker.position.value
    where = ""
    if 0 <= position < len(chunk):
        where = f" while processing {describe(chunk[position])}"
    elif chunk:
        where = f" while processing {_describe_chunk(chunk, describe)}"
    raise WorkerError(f"worker process {worker.process.pid} {cause}{where}")


def _stop(workers: list[_Worker], graceful: bool) -> None:
    """Ends the workers: politely after a complete run, at once otherwise."""
    for worker in workers:
        if graceful:
            try:
                worker.conn.send_bytes(b"")
            except OSError:
                pass
        elif worker.process.is_alive():
            worker.process.terminate()
    for worker in workers:
        worker.process.join(_JOIN_SECONDS)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()


def _worker_main(conn, position, fn, initializer, initargs, describe) -> None:
    """A worker: runs the initializer, then one chunk per message until an empty one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        if initializer is not None:
            initializer(*initargs)
    except BaseException as e:
        conn.send_bytes(pickle.dumps(("init_failed", f"{type(e).__name__}: {e}")))
        return
    while True:
        try:
            payload = conn.recv_bytes()
        except EOFError:  # the parent is gone
            return
        if not payload:
            return
        conn.send_bytes(pickle.dumps(_run_chunk(fn, payload, describe, position)))


def _run_chunk(fn, payload: bytes, describe, position) -> tuple[str, object]:
    """("done", pickled results) or ("failed", a message naming the item and the cause)."""
    try:
        chunk = pickle.loads(payload)
    except BaseException as e:
        return "failed", f"a chunk could not be read by a worker: {type(e).__name__}: {e}"
    out = []
    for k, item in enumerate(chunk):
        position.value = k
        try:
            out.append(fn(item))
        except BaseException as e:
            trace = "".join(traceback.format_exception(e)).rstrip()
            return "failed", f"{describe(item)}: {type(e).__name__}: {e}\n" \
                             f"worker traceback:\n{trace}"
    position.value = -1
    try:
        return "done", pickle.dumps(out)
    except BaseException as e:
        return "failed", f"{_describe_chunk(chunk, describe)}: a result cannot be sent " \
                         f"back from the worker: {type(e).__name__}: {e}"
