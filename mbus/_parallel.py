"""Work on many lines in a process pool, in input order, with memory bounded by chunks.

:func:`map_chunks` is the one pool loop (``mbus decode --jobs``, ``wmbus
decode --jobs``, :func:`mbus.decode_many` and :func:`wmbus.decode_many` use
it): the input is cut into chunks of ``chunk_size`` items, at most
``2 * jobs`` chunks are in flight, and results come back chunk by chunk in
input order. Memory grows with the chunk size and the number of jobs, never
with the input's length.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

__all__ = ["chunks", "jobs_argument", "map_chunks"]

T = TypeVar("T")
R = TypeVar("R")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def map_chunks(function: Callable[..., R], items: Iterable[T], *, jobs: int,
               chunk_size: int, initializer: Callable[..., None] | None = None,
               initargs: tuple[Any, ...] = (),
               before_submit: Callable[[], tuple[Any, ...]] | None = None) -> Iterator[R]:
    """``function(chunk)`` for each chunk of ``items``, computed by ``jobs`` processes.

    Results come in input order. ``function`` and the items must be picklable
    (``function`` a module-level function). ``before_submit()``, when given,
    is called as each chunk is sent and its values are passed after the chunk:
    ``function(chunk, *before_submit())``.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    from concurrent.futures import ProcessPoolExecutor  # only when a pool is asked for

    with ProcessPoolExecutor(max_workers=jobs, initializer=initializer,
                             initargs=initargs) as pool:
        pending: deque[Future[R]] = deque()
        for chunk in chunks(items, chunk_size):
            extra = before_submit() if before_submit is not None else ()
            pending.append(pool.submit(function, chunk, *extra))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def jobs_argument(text: str) -> int:
    """A ``--jobs`` value (argparse ``type=``): a whole number of processes, at least 1."""
    import argparse

    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"at least 1 process, got {jobs}")
    return jobs
