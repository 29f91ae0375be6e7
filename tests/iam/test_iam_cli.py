"""``cenflow iam``: bootstrap commands and ``simulate`` (its decision, deciding statement and exit
status), run in-process on a data directory of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from iam_support import allow, deny, document

from cenflow.cli.main import cli

ACCOUNT = "1111222233334444"


@pytest.fixture
def run(tmp_path: Path) -> Any:
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(
            cli,
            ["iam", *args, "--data-dir", str(tmp_path / "data"), "--account-id", ACCOUNT],
            input=stdin,
            catch_exceptions=False,
        )

    return invoke


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_create_user_prints_the_secret_once(run: Any) -> None:
    output = ok(run("create-user", "ops", "--policy", "AliyunCENReadOnlyAccess"))
    assert f"acs:ram::{ACCOUNT}:user/ops" in output
    assert "attached policy AliyunCENReadOnlyAccess" in output
    secret = next(line.split("=", 1)[1].strip() for line in output.splitlines() if "access_key_secret" in line)
    assert len(secret) == 30
    keys = json.loads(ok(run("list", "keys", "--user", "ops", "--format", "json")))
    assert len(keys) == 1
    assert secret not in json.dumps(keys)
    users = json.loads(ok(run("list", "users", "--format", "json")))
    assert users[0]["UserName"] == "ops"
    assert users[0]["Policies"] == ["AliyunCENReadOnlyAccess"]


def test_errors_are_ram_codes_and_exit_status_one(run: Any) -> None:
    ok(run("create-user", "dup", "--no-key"))
    result = run("create-user", "dup", "--no-key")
    assert result.exit_code == 1
    assert "EntityAlreadyExists.User" in result.output
    missing = run("create-key", "nobody")
    assert missing.exit_code == 1
    assert "EntityNotExist.User" in missing.output
    malformed = run("create-policy", "broken", "--document", "-", stdin='{"Version": "1"}')
    assert malformed.exit_code == 1
    assert "MalformedPolicyDocument" in malformed.output


def test_simulate_reports_the_deciding_statement(run: Any) -> None:
    flowlog = f"acs:cbn:cn-hangzhou:{ACCOUNT}:flowlog/flowlog-abc"
    ok(run("create-user", "dev", "--no-key", "--policy", "AliyunCENFullAccess"))
    ok(run("create-policy", "no-flowlogs", "--document", "-", stdin=document(deny("cen:*Flowlog*"))))
    ok(run("create-group", "devs", "--member", "dev"))
    ok(run("attach-policy", "no-flowlogs", "--group", "devs"))

    denied = run("simulate", "--principal", "user/dev", "--action", "cen:ActiveFlowLog", "--resource", flowlog)
    assert denied.exit_code == 2
    assert denied.output.startswith(f"DENY  acs:ram::{ACCOUNT}:user/dev  cen:ActiveFlowLog  {flowlog}")
    assert "denial: ExplicitDeny (AccountLevelIdentityBasedPolicy)" in denied.output
    assert "decided by: Custom policy no-flowlogs v1 Statement[0] (Deny)" in denied.output
    assert '"Action": "cen:*Flowlog*"' in denied.output

    allowed = run(
        "simulate",
        "--principal",
        f"acs:ram::{ACCOUNT}:user/dev",
        "--action",
        "cen:DescribeCens",
        "--resource",
        "*",
        "--format",
        "json",
    )
    report = json.loads(ok(allowed))
    assert report["Decision"] == "Allow"
    assert report["Statement"]["PolicyName"] == "AliyunCENFullAccess"
    assert report["Statement"]["Text"] == {"Effect": "Allow", "Action": ["cen:*"], "Resource": "*"}
    assert report["PoliciesInForce"] == ["User:System:AliyunCENFullAccess:v1", "Group:Custom:no-flowlogs:v1"]


def test_simulate_with_context_and_roles(run: Any, tmp_path: Path) -> None:
    office = document(allow("cen:Describe*", IpAddress={"acs:SourceIp": "192.0.2.0/24"}))
    ok(run("create-policy", "office-only", "--document", "-", stdin=office))
    ok(run("create-user", "remote", "--no-key", "--policy", "office-only"))
    base = ["simulate", "--principal", "user/remote", "--action", "cen:DescribeFlowlogs", "--resource", "*"]
    assert run(*base, "--context", "acs:SourceIp=192.0.2.7").exit_code == 0
    away = run(*base, "--context", "acs:SourceIp=198.51.100.7")
    assert away.exit_code == 2
    assert "decided by: no statement allows it" in away.output
    assert "acs:SourceIp=198.51.100.7" in away.output

    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{ACCOUNT}:root"]}}
    ok(run("create-role", "auditor", "--trust-policy", "-", stdin=document(trust)))
    ok(run("attach-policy", "AliyunCENReadOnlyAccess", "--role", "auditor"))
    session = tmp_path / "session.json"
    session.write_text(document(allow("cen:DescribeCens")))
    role = ["simulate", "--principal", "role/auditor", "--resource", "*"]
    assert run(*role, "--action", "cen:DescribeFlowlogs").exit_code == 0
    narrowed = run(*role, "--action", "cen:DescribeFlowlogs", "--session-policy", str(session))
    assert narrowed.exit_code == 2
    assert "(SessionPolicy)" in narrowed.output
    root = run("simulate", "--principal", "root", "--action", "cen:DeleteCen", "--resource", "*")
    assert "the root identity is allowed every action" in ok(root)
    wrong = run("simulate", "--principal", "user/ghost", "--action", "cen:DeleteCen", "--resource", "*")
    assert wrong.exit_code == 1
    assert "EntityNotExist.User" in wrong.output


@pytest.mark.parametrize(
    "command",
    [
        "create-user",
        "create-key",
        "set-key-status",
        "delete-key",
        "delete-user",
        "create-group",
        "create-role",
        "create-policy",
        "attach-policy",
        "detach-policy",
        "list",
        "simulate",
    ],
)
def test_every_command_documents_its_options(command: str) -> None:
    output = CliRunner().invoke(cli, ["iam", command, "--help"]).output
    assert "--data-dir" in output
    assert "--account-id" in output
    assert "Usage: cli iam" in output or "Usage: cenflow iam" in output
