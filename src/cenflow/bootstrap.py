"""First-start setup of the data directory: account id, master key, root AccessKey.

Idempotent: every start re-applies what the settings say (a root key given in the environment
is (re)installed), and generates only what is missing.  Secrets are written to files of mode
0600 and never logged; the log names the file instead.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from cenflow.config import Settings
from cenflow.iam.keys import KeyStore, new_access_key_id, new_access_key_secret

log = logging.getLogger(__name__)


def ensure_account_id(settings: Settings) -> str:
    if settings.account_id:
        if not (settings.account_id.isdigit() and len(settings.account_id) == 16):
            raise ValueError("CENFLOW_ACCOUNT_ID must be 16 digits")
        return settings.account_id
    path = settings.account_id_file
    if path.exists():
        value = path.read_text().strip()
        if value.isdigit() and len(value) == 16:
            return value
        raise ValueError(f"{path} does not hold a 16-digit account id")
    value = str(secrets.randbelow(9 * 10**15) + 10**15)
    write_private(path, value + "\n", exclusive=True)
    return path.read_text().strip()


def ensure_root_key(settings: Settings, keys: KeyStore, endpoint: str) -> str:
    """Install the configured root key, or generate one on first start.  Returns its id."""
    if settings.root_access_key_id or settings.root_access_key_secret:
        if not (settings.root_access_key_id and settings.root_access_key_secret):
            raise ValueError("set both CENFLOW_ROOT_ACCESS_KEY_ID and CENFLOW_ROOT_ACCESS_KEY_SECRET")
        keys.ensure_root_key(settings.root_access_key_id, settings.root_access_key_secret)
        return settings.root_access_key_id
    existing = keys.root_keys()
    if existing:
        return existing[0].access_key_id
    key_id, secret = new_access_key_id(), new_access_key_secret()
    keys.ensure_root_key(key_id, secret)
    write_private(
        settings.credentials_file,
        "[default]\n"
        f"account_id = {keys.account_id}\n"
        f"access_key_id = {key_id}\n"
        f"access_key_secret = {secret}\n"
        f"endpoint = {endpoint}\n",
    )
    log.info(
        "generated a root AccessKey",
        extra={"access_key_id": key_id, "credentials_file": str(settings.credentials_file)},
    )
    return key_id


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write a file only its owner can read, atomically (or not at all if ``exclusive`` and it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
