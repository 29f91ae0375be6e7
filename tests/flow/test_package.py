"""The flow package stays independent of the API, the database store and web frameworks."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import cenflow.flow


def test_flow_modules_import_nothing_from_api_store_or_web_frameworks() -> None:
    modules = [f"cenflow.flow.{m.name}" for m in pkgutil.iter_modules(cenflow.flow.__path__)]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True).stdout)
    forbidden = ("cenflow.api", "cenflow.store", "starlette", "uvicorn", "sqlalchemy")
    assert [name for name in loaded if name.startswith(forbidden)] == []
    assert "cenflow.flow.decoder" in loaded
