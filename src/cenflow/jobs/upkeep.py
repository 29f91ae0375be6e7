"""Periodic log-store upkeep: retention from the SLS catalogue, then compaction."""

from __future__ import annotations

import logging

from cenflow.logstore import LogStore, LogstoreError
from cenflow.store import sls
from cenflow.store.database import Database

log = logging.getLogger(__name__)

UPKEEP_INTERVAL = 300.0


def logstore_upkeep(database: Database, logstore: LogStore) -> None:
    """Make each logstore's retention what the catalogue says, then compact and drop old data."""
    with database.read() as tx:
        configured = sls.list_logstores(tx)
    for entry in configured:
        try:
            if logstore.exists(entry.project, entry.name) and (
                logstore.retention_days(entry.project, entry.name) != entry.retention_days
            ):
                logstore.set_retention_days(entry.project, entry.name, entry.retention_days)
        except LogstoreError:
            log.exception("cannot set retention", extra={"project": entry.project, "logstore": entry.name})
    report = logstore.maintain()
    log.info("log store upkeep", extra={"compacted": len(report.compacted), "retention": len(report.retention)})
