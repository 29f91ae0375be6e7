"""Typed settings.  Every setting is a command-line flag and a ``CENFLOW_*`` environment variable.

The CLI (``cenflow.cli``) declares the flags; this module holds the values and the derived paths
so that the rest of the code never reads the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None
    account_id: str | None = None
    root_access_key_id: str | None = None
    root_access_key_secret: str | None = None
    master_key_file: Path | None = None
    transition_delay: float = 1.0
    signature_window_minutes: int = 15
    idempotency_ttl_hours: int = 24
    flowlog_quota: int = 1000
    default_retention_days: int = 30
    region_catalogue: Path | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    workers: bool = True
    # Data plane: UDP port for NetFlow/IPFIX (None: no collector in this process).
    flow_port: int | None = 2055
    flow_lateness: float = 30.0
    spool: bool = True
    collector_id: str = "collector-1"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cenflow.db').resolve()}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials"

    @property
    def account_id_file(self) -> Path:
        return self.data_dir / "account-id"
