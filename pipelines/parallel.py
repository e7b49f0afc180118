"""An ordered parallel map over worker processes that never fork TensorFlow."""

from __future__ import annotations

import multiprocessing
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], num_workers: int,
                initializer: Callable | None = None, initargs: tuple = (),
                chunksize: int = 16) -> Iterator[R]:
    """`map(fn, items)` over `num_workers` spawned processes, results in input order.

    `fn` and `initializer` must live in modules that do not import TensorFlow, so that
    workers start fast and never inherit TensorFlow's threads through fork.
    """
    if num_workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        yield from map(fn, items)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(num_workers, initializer, initargs) as pool:
        yield from pool.imap(fn, items, chunksize=chunksize)
