"""docs/configuration.md is the CLI's own reference: it must say what the code does."""

from __future__ import annotations

from pathlib import Path

from cenflow.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_page_matches_the_cli() -> None:
    assert DOC.read_text() == render(), "regenerate with: python -m cenflow.cli.reference > docs/configuration.md"


def test_every_setting_of_serve_is_documented_with_its_environment_variable() -> None:
    text = DOC.read_text()
    for variable in (
        "CENFLOW_DATA_DIR",
        "CENFLOW_DATABASE_URL",
        "CENFLOW_TRANSITION_DELAY",
        "CENFLOW_FLOW_PORT",
        "CENFLOW_ROOT_ACCESS_KEY_ID",
        "CENFLOW_ACCOUNT_ID",
    ):
        assert f"`{variable}`" in text
