"""Stable small integers for names (attachment ids, regions) that outlive topology reloads."""

from __future__ import annotations


class NameRegistry:
    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._names: list[str] = []

    def number(self, name: str) -> int:
        number = self._numbers.get(name)
        if number is None:
            number = len(self._names)
            self._numbers[name] = number
            self._names.append(name)
        return number

    def name(self, number: int) -> str:
        return self._names[number]

    def names(self) -> list[str]:
        """Every name, by number: a copy, so another thread may read it while this one adds."""
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)
