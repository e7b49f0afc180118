"""`ordered_map` over real worker processes: order, and a prompt error for every failure."""

import multiprocessing
import os
import signal

import pytest

from pipelines.parallel import WorkerError, ordered_map
from tests import parallel_fns as fns

WORKERS = [1, 2]  # the serial path and the parallel one must behave alike


@pytest.mark.parametrize("workers", WORKERS)
def test_results_in_input_order(workers):
    assert list(ordered_map(fns.square, range(100), workers, chunksize=3)) == \
        [x * x for x in range(100)]


@pytest.mark.parametrize("workers", WORKERS)
def test_an_exception_names_the_item_and_the_cause(workers):
    with pytest.raises(WorkerError, match=r"item #7: ValueError: seven is not allowed"):
        list(ordered_map(fns.fail_on_seven, range(20), workers, chunksize=4,
                         describe=fns.describe))
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("workers", WORKERS)
def test_a_failing_initializer_ends_the_map(workers):
    with pytest.raises(WorkerError, match="start-up failed: FileNotFoundError: no font"):
        list(ordered_map(fns.square, range(5), workers, fns.failing_initializer, ("no font",)))
    assert not multiprocessing.active_children()


def test_an_item_that_does_not_pickle_is_named():
    items = [1, 2, lambda: 3, 4]
    with pytest.raises(WorkerError, match="cannot be sent to a worker process"):
        list(ordered_map(fns.square, items, 2, chunksize=1,
                         describe=fns.describe))
    assert not multiprocessing.active_children()


def test_a_result_that_does_not_pickle_is_named():
    with pytest.raises(WorkerError, match=r"item #5: a result cannot be sent back"):
        list(ordered_map(fns.unpicklable_result, range(10), 2, chunksize=1,
                         describe=fns.describe))
    assert not multiprocessing.active_children()


def test_a_worker_that_exits_ends_the_map():
    with pytest.raises(WorkerError, match=r"exited with status 3 while processing item #4"):
        list(ordered_map(fns.exit_on_four, range(10), 2, chunksize=3, describe=fns.describe))
    assert not multiprocessing.active_children()


def test_a_killed_worker_ends_the_map():
    """SIGKILL (as from the OOM killer) of a worker while one of them is stuck on item 3."""
    results = ordered_map(fns.sleep_forever_on_three, range(8), 2, chunksize=1,
                          describe=fns.describe)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    victim = multiprocessing.active_children()[0]
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(WorkerError, match=rf"worker process {victim.pid} killed by SIGKILL "
                                          r"\(the out-of-memory killer, or kill -9\)"):
        list(results)
    assert not multiprocessing.active_children()


def test_a_worker_killed_while_idle_ends_the_map_when_it_is_next_fed():
    """The workers die between chunks; the next chunk is sent to a closed pipe."""
    killed = []

    def items():
        yield from range(2)
        for process in multiprocessing.active_children():  # both idle or finishing
            os.kill(process.pid, signal.SIGKILL)
            process.join()
            killed.append(process.pid)
        yield from range(2, 6)

    with pytest.raises(WorkerError, match=r"worker process (\d+) killed by SIGKILL") as error:
        list(ordered_map(fns.square, items(), 2, chunksize=1, describe=fns.describe))
    assert int(error.value.args[0].split()[2]) in killed
    assert not multiprocessing.active_children()
