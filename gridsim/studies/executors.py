"""Where the runs of a batch execute: in this process, in local worker processes, or on Dask.

Every executor has the same small interface::

    with executor:                                   # start workers / connect
        for task, result in executor.run(fn, tasks): # as they finish, in any order
            ...                                      # result is fn(task) or the exception it raised

`fn` must be a top-level (picklable) function: `import mesa` makes "spawn" the start method,
so worker processes import it by name. The run itself is deterministic (seeded by the task),
so results do not depend on the executor, the number of workers or the completion order.

Local workers never outlive the batch: each asks the kernel for SIGKILL when its parent
dies (Linux PR_SET_PDEATHSIG) and also watches its parent's pid, so a `kill -9` of
`gridsim batch` takes its workers (about 250 MB each, holding the caller's pipes) with it;
the multiprocessing resource tracker then sees its last user gone and exits too.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence


class ExecutorError(RuntimeError):
    """The executor itself failed (a worker process died, the scheduler went away)."""


class ExecutorSetupError(ExecutorError):
    """The executor cannot start: a missing optional dependency or an unreachable scheduler."""


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:      # not Linux
        return max(1, os.cpu_count() or 1)


class Executor:
    """Base class: a context manager that runs tasks and yields (task, result or exception)."""

    name = "executor"

    def __init__(self, workers: int = 1):
        self.workers = int(workers)

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.shutdown(cancel=exc_type is not None)
        return False

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def shutdown(self, cancel: bool = False) -> None:
        pass

    def describe(self) -> str:
        return self.name


class SerialExecutor(Executor):
    """One run after another in this process (`--workers 1`): simplest to debug and profile."""

    name = "serial"

    def __init__(self):
        super().__init__(1)

    def run(self, fn, tasks):
        for task in tasks:
            try:
                result = fn(task)
            except Exception as exc:
                yield task, exc
            else:
                yield task, result

    def describe(self) -> str:
        return "serially in this process"


PARENT_POLL_S = 0.5
"""How often a worker checks that its parent is alive (where the kernel cannot tell it)."""


def _die_with_parent(parent_pid: int, spawned_by_main_thread: bool) -> None:
    """Worker initializer: exit as soon as `parent_pid` is gone.

    The kernel's parent-death signal fires when the *thread* that spawned the worker ends, so
    it is asked for only when that thread is the main one (which ends with the process); a
    watcher thread polling the parent pid covers the rest and other systems."""
    if spawned_by_main_thread and sys.platform.startswith("linux"):
        try:
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (AttributeError, OSError):
            pass
    if os.getppid() != parent_pid:       # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="gridsim-parent-watch", daemon=True).start()


class ProcessExecutor(Executor):
    """Local worker processes (`concurrent.futures.ProcessPoolExecutor`, spawn start method)."""

    name = "processes"

    def __init__(self, workers: int | None = None):
        super().__init__(workers or default_workers())
        self._pool: ProcessPoolExecutor | None = None

    def run(self, fn, tasks):
        """Tasks may be any iterable (a lazy plan too): at most two per worker are in flight, so
        the first results come back before a long plan has been read to its end."""
        it = iter(tasks)
        n = len(tasks) if hasattr(tasks, "__len__") else self.workers
        if n == 0:
            return
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=min(self.workers, n), mp_context=ctx, initializer=_die_with_parent,
            initargs=(os.getpid(), threading.current_thread() is threading.main_thread()))
        in_flight: dict = {}

        def top_up() -> None:
            for task in it:
                in_flight[self._pool.submit(fn, task)] = task
                if len(in_flight) >= 2 * self.workers:
                    break

        top_up()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in done:
                task = in_flight.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool as exc:
                    raise ExecutorError("a worker process died unexpectedly (killed, or out of memory?); the runs "
                                        "committed so far are kept: run the same command again to resume") from exc
                except Exception as exc:
                    yield task, exc
                else:
                    yield task, result
            top_up()

    def shutdown(self, cancel: bool = False) -> None:
        # Do not wait: every result is in (or cancelled), and the workers' exit (about 0.3 s of
        # interpreter teardown) can overlap with writing the outputs; the interpreter joins them.
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=cancel)
            self._pool = None

    def describe(self) -> str:
        return f"on {self.workers} local worker process{'es' if self.workers != 1 else ''}"


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorSetupError("--dask needs the optional Dask extra: pip install -e \".[dask]\" "
                                 "(or pip install \"dask[distributed]\")") from None
    return distributed


class DaskExecutor(Executor):
    """Dask distributed: `address` "local" starts a LocalCluster (processes, one thread per worker),
    anything else (tcp://host:8786) connects to a running scheduler whose workers can import gridsim."""

    name = "dask"

    def __init__(self, address: str = "local", workers: int | None = None):
        self._distributed = _import_distributed()
        self.address = address
        self.local = address == "local"
        super().__init__(workers or (default_workers() if self.local else 0))
        self._cluster = None
        self._client = None

    def __enter__(self) -> "DaskExecutor":
        distributed = self._distributed
        try:
            if self.local:
                import dask
                # The runs are pure-Python and CPU-bound, one per core: the worker's statistical
                # profiler (a stack sample every 10 ms) and GIL monitor slowed them by about 10 %,
                # and the 20 ms event-loop tick and frequent monitors take CPU from them.
                with dask.config.set({"distributed.worker.profile.enabled": False,
                                      "distributed.admin.system-monitor.gil.enabled": False,
                                      "distributed.admin.tick.interval": "1s",
                                      "distributed.admin.system-monitor.interval": "5s",
                                      "distributed.worker.memory.monitor-interval": "1s"}):
                    self._cluster = distributed.LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.ERROR)
                self._client = distributed.Client(self._cluster)
            else:
                self._client = distributed.Client(self.address, timeout="15s")
                self.workers = len(self._client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError) as exc:
            self.shutdown()
            raise ExecutorSetupError(f"--dask {self.address}: cannot reach the Dask scheduler ({exc})") from None
        return self

    def run(self, fn, tasks):
        if not tasks:
            return
        futures = {self._client.submit(fn, t, pure=False): t for t in tasks}
        for fut in self._distributed.as_completed(list(futures)):
            task = futures.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:    # the task raised, or its worker died repeatedly (KilledWorker)
                if self._client.status not in ("running", "connecting", "newly-created"):
                    raise ExecutorError(f"lost the Dask scheduler ({exc}); the runs committed so far are "
                                        "kept: run the same command again to resume") from exc
                yield task, exc
            else:
                yield task, result
            fut.release()

    def shutdown(self, cancel: bool = False) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None
        if self._cluster is not None:
            try:
                self._cluster.close()
            except Exception:
                pass
            self._cluster = None

    def describe(self) -> str:
        if self.local:
            return f"on a local Dask cluster of {self.workers} worker process{'es' if self.workers != 1 else ''}"
        return f"on the Dask scheduler at {self.address}"


def make_executor(workers: int | None = None, dask: str | None = None) -> Executor:
    """The executor the command line asks for: --dask ADDRESS|local, else --workers N (1 = serial,
    default all cores)."""
    if dask:
        return DaskExecutor(dask, workers)
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise ValueError(f"workers must be >= 1, got {n}")
    return SerialExecutor() if n == 1 else ProcessExecutor(n)
