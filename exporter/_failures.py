"""The one table that says what a failed commit means: for the batches, for the database's health, for the writer.

In the style of `otel_errors.errors.DISPOSITIONS`: the first row whose exception class matches decides.

    exception                               batches get            database down?  writer
    DeadlockDetected, SerializationFailure  (retried in place)     no              same connection
    QueryCanceled (statement_timeout)       StoreUnavailable       no              same connection
    OperationalError, OSError               StoreUnavailable       yes, briefly    reconnects
    other psycopg.Error, ValueError,        InvalidRequest for     no              same connection
      OverflowError (a value it can't       the one batch refused
      encode: an int beyond int8)           (found by isolating)
    anything else (a bug of ours)           that exception         no              reconnects
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import errors as pgerrors

from otel_errors.errors import IngestError, InvalidRequest, StoreUnavailable


@dataclass(frozen=True, slots=True)
class CommitFailure:
    error: type[IngestError] | None  # what the batches get; None: the exception itself (a bug)
    retry_in_place: bool = False  # a conflict between writers: the same commit again, at once
    marks_down: bool = False  # the database is unreachable: refuse new batches for a moment
    per_batch: bool = False  # the data, not the database: find the batch refused and fail it alone
    reconnect: bool = False  # the connection's state is unknown: open a new one


FAILURES: tuple[tuple[tuple[type[BaseException], ...], CommitFailure], ...] = (
    ((pgerrors.DeadlockDetected, pgerrors.SerializationFailure), CommitFailure(StoreUnavailable, retry_in_place=True)),
    # A slow commit (statement_timeout) says nothing about other clients' batches: fail these, keep serving.
    ((pgerrors.QueryCanceled,), CommitFailure(StoreUnavailable)),
    ((psycopg.OperationalError, OSError), CommitFailure(StoreUnavailable, marks_down=True, reconnect=True)),
    ((psycopg.Error, ValueError, OverflowError), CommitFailure(InvalidRequest, per_batch=True)),
)
_BUG = CommitFailure(None, reconnect=True)


def failure(exc: BaseException) -> CommitFailure:
    for classes, found in FAILURES:
        if isinstance(exc, classes):
            return found
    return _BUG


def ingest_error(exc: BaseException, found: CommitFailure) -> Exception:
    """The exception a batch's writer gets for `exc`."""
    if found.error is None:
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
    if found.error is InvalidRequest:
        return InvalidRequest(f"the store refused the batch: {exc}")
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return found.error(f"database unavailable: {first_line}")
