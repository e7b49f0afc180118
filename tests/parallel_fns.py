"""Module-level functions for the worker processes of tests/test_parallel.py (no TensorFlow)."""

from __future__ import annotations

import os
import time


def square(x: int) -> int:
    return x * x


def fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError("seven is not allowed")
    return x


def unpicklable_result(x: int):
    return (lambda: x) if x == 5 else x


def sleep_forever_on_three(x: int) -> int:
    if x == 3:
        time.sleep(3600)
    return x


def exit_on_four(x: int) -> int:
    if x == 4:
        os._exit(3)
    return x


def failing_initializer(message: str) -> None:
    raise FileNotFoundError(message)


def describe(x) -> str:
    return f"item #{x}"
