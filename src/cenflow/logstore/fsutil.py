"""Durable file-system primitives: fsync'd writes, directory fsyncs, atomic JSON files.

A rename is atomic for readers, but it is durable only once the directory holding the new name
is fsync'd; and a file's bytes are durable only once the file itself is fsync'd *before* the
rename.  Without both, a power cut can leave a complete-looking name over an empty file.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path, *, durable: bool = True) -> None:
    """``mkdir -p`` that also fsyncs the parent of every directory it creates."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        if durable:
            fsync_dir(directory.parent)


def temp_path(tmp_dir: Path, suffix: str) -> Path:
    return tmp_dir / f"{os.getpid()}-{secrets.token_hex(8)}{suffix}"


def write_temp(tmp_dir: Path, suffix: str, write: Callable[[IO[bytes]], None], *, durable: bool = True) -> Path:
    """Create a new file in ``tmp_dir`` with ``write``, fsync it, and return its path.

    The caller renames it into place; on any error the partial file is removed.
    """
    make_dirs(tmp_dir, durable=durable)
    path = temp_path(tmp_dir, suffix)
    try:
        with open(path, "xb") as handle:
            write(handle)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, value: Any, tmp_dir: Path, *, durable: bool = True) -> None:
    data = json.dumps(value, sort_keys=True).encode()

    def dump(handle: IO[bytes]) -> None:
        handle.write(data)

    temp = write_temp(tmp_dir, ".json", dump, durable=durable)
    os.replace(temp, path)
    if durable:
        fsync_dir(path.parent)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
