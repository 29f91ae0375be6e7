"""Exceptions raised by the log store.

They are plain exceptions, not :class:`cenflow.errors.ApiError`: the HTTP and CLI layers decide
how each one is shown (a 400 for a bad ``where``, a usage error in the CLI), so that the store
stays free of wire concerns.
"""

from __future__ import annotations


class LogstoreError(Exception):
    """Base class of every log-store error; ``str(error)`` is a message fit for a user."""


class InvalidName(LogstoreError, ValueError):
    """A project, logstore, flow-log or writer id that cannot name a directory or file."""


class InvalidRecords(LogstoreError, ValueError):
    """A table given to ``append`` that does not fit the record schema."""


class QueryError(LogstoreError):
    """A query the store refused or DuckDB could not run (bad ``where``, unknown column, ...)."""


class QueryTimeout(QueryError):
    """A query interrupted because it ran longer than its time limit."""


class ConcurrentModification(LogstoreError):
    """A write that kept losing races with other writers of the same logstore and gave up."""
