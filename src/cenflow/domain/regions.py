"""The region catalogue: which region ids exist, their local names, what each one offers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

LANGUAGES = ("zh-CN", "en-US", "ja")
PRODUCT_TYPES = ("VPC", "VBR", "CCN")


@dataclass(frozen=True)
class Region:
    region_id: str
    local_names: dict[str, str]
    product_types: tuple[str, ...]

    def local_name(self, language: str) -> str:
        return self.local_names.get(language) or self.local_names.get("en-US") or self.region_id


class RegionCatalogue:
    def __init__(self, regions: list[Region]) -> None:
        self._regions = {r.region_id: r for r in regions}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> RegionCatalogue:
        regions = []
        for entry in document["regions"]:
            names = entry.get("LocalName") or {}
            if not isinstance(names, dict):
                raise ValueError(f"LocalName of {entry.get('RegionId')} must map language to name")
            regions.append(
                Region(
                    region_id=str(entry["RegionId"]),
                    local_names={str(k): str(v) for k, v in names.items()},
                    product_types=tuple(entry.get("ProductTypes", ("VPC", "VBR"))),
                )
            )
        if not regions:
            raise ValueError("the region catalogue is empty")
        return cls(regions)

    @classmethod
    def load(cls, path: Path | None = None) -> RegionCatalogue:
        """The catalogue in ``path``, or Alibaba Cloud's public regions shipped with cenflow."""
        if path is not None:
            text = path.read_text(encoding="utf-8")
        else:
            text = resources.files("cenflow.data").joinpath("regions.json").read_text(encoding="utf-8")
        return cls.from_document(json.loads(text))

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._regions

    def all(self) -> list[Region]:
        return list(self._regions.values())

    def get(self, region_id: str) -> Region | None:
        return self._regions.get(region_id)
