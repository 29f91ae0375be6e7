"""A request as the protocol sees it, independent of the web framework."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from cenflow.wire.params import merge


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    source_ip: str
    secure: bool = False

    @cached_property
    def params(self) -> dict[str, str]:
        return merge(self.query, self.form)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def action(self) -> str | None:
        return self.headers.get("x-acs-action") or self.params.get("Action")

    @property
    def version(self) -> str | None:
        return self.headers.get("x-acs-version") or self.params.get("Version")
