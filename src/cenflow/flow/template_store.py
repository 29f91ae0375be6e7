"""Where templates survive a collector restart.

The decoder keeps its working set in memory and writes through to a `TemplateStore`: `save` when
a template is learned or redefined (and, throttled, when a refresh keeps it alive), `delete` when
it is withdrawn, expires or its exporter restarts, `load` once at start.  A store only persists;
expiry and restart rules live in the decoder, so a database-backed store needs only these three
methods.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from cenflow.flow.templates import Template, TemplateKey

log = logging.getLogger(__name__)


class TemplateStore(Protocol):
    def load(self) -> list[Template]: ...

    def save(self, template: Template) -> None: ...

    def delete(self, key: TemplateKey) -> None: ...


class MemoryTemplateStore:
    """Keeps templates in a dict: share one between decoder instances to simulate a restart."""

    def __init__(self) -> None:
        self.templates: dict[TemplateKey, Template] = {}

    def load(self) -> list[Template]:
        return list(self.templates.values())

    def save(self, template: Template) -> None:
        self.templates[template.key] = template

    def delete(self, key: TemplateKey) -> None:
        self.templates.pop(key, None)


_UNSAFE = re.compile(r"[^0-9A-Za-z.]")


class JsonDirTemplateStore:
    """One small JSON document per template under a directory, replaced atomically on save.

    The file name is derived from the key only to find the file again; `load` trusts the key
    inside the document.  Unreadable files are skipped with a warning, never fatal: a lost
    template only costs waiting for the exporter's next refresh.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: TemplateKey) -> Path:
        exporter = _UNSAFE.sub("_", key.exporter)
        name = f"v{key.version}_{exporter}_{key.port}_{key.domain}_{key.template_id}.json"
        return self.directory / name

    def load(self) -> list[Template]:
        templates: list[Template] = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                templates.append(Template.from_json(json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
                log.warning("skipping unreadable template file %s: %s", path, exc)
        return templates

    def save(self, template: Template) -> None:
        path = self._path(template.key)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(template.to_json(), handle, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def delete(self, key: TemplateKey) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
