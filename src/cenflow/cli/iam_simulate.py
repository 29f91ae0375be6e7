"""``cenflow iam simulate``: what the server would decide for a principal, and which statement decided."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from cenflow.cli.iam_state import State, account_options, format_option, now
from cenflow.iam import directory
from cenflow.iam.enforcer import Enforcer, Explained
from cenflow.iam.keys import user_principal
from cenflow.iam.policy import (
    CURRENT_TIME,
    SYSTEM_POLICIES,
    ContextValue,
    PolicyCache,
    PolicyType,
    parse_session_policy,
)
from cenflow.iam.principal import Principal, root_principal
from cenflow.iam.sts import SessionClaims, session_principal

_PRINCIPAL = re.compile(r"(?:acs:ram::(\d+):)?(root|user/([^/\s]+)|role/([^/\s]+))")


def _principal(state: State, spec: str, session_name: str, session_policy: str | None) -> Principal:
    match = _PRINCIPAL.fullmatch(spec)
    if match is None:
        raise click.BadParameter("use root, user/NAME, role/NAME or an ARN such as acs:ram::<account>:user/NAME")
    if match.group(1) and match.group(1) != state.account_id:
        raise click.BadParameter(f"this server's account is {state.account_id}, not {match.group(1)}")
    with state.read() as tx:
        if match.group(3):
            return user_principal(state.account_id, directory.user(tx, state.account_id, match.group(3)))
        if match.group(4):
            role = directory.role(tx, state.account_id, match.group(4))
            at = now()
            claims = SessionClaims(
                access_key_id="STS.simulated",
                secret="",
                account_id=state.account_id,
                role_id=role.role_id,
                role_name=role.role_name,
                session_name=session_name,
                issued_at=at,
                expires_at=at,
                policy=session_policy,
            )
            return session_principal(claims)
    return root_principal(state.account_id)


def _context(pairs: Sequence[str]) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {CURRENT_TIME: now()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        if key.lower() == CURRENT_TIME.lower():
            context.pop(CURRENT_TIME, None)
        previous = context.get(key)
        if previous is None:
            context[key] = value
        else:  # a key given twice carries several values
            context[key] = (*(previous if isinstance(previous, tuple) else (previous,)), value)
    return context


def _statement_text(explained: Explained, name: str | None, kind: PolicyType | None, index: int) -> Any:
    if name is None:
        document = explained.session_policy
    elif kind == PolicyType.SYSTEM:
        document = SYSTEM_POLICIES[name].document
    else:
        document = explained.documents.get((PolicyType.CUSTOM, name))
    if document is None:
        return None
    statements = json.loads(document).get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    return statements[index] if 0 <= index < len(statements) else None


def _report(principal: Principal, action: str, resources: Sequence[str], explained: Explained) -> dict[str, Any]:
    decision = explained.decision
    report: dict[str, Any] = {
        "Principal": principal.arn,
        "Action": action,
        "Resources": list(resources),
        "Decision": "Allow" if decision.allowed else "Deny",
        "Resource": decision.resource,
    }
    if principal.is_root:
        report["Reason"] = "the root identity is allowed every action"
    if not decision.allowed:
        report["NoPermissionType"] = decision.denial.value if decision.denial else None
        report["PolicyType"] = decision.layer.value if decision.layer else None
    statement = decision.statement
    if statement is not None:
        report["Statement"] = {
            "PolicyName": statement.policy_name or "(session policy)",
            "PolicyType": statement.policy_type.value if statement.policy_type else "Session",
            "PolicyVersion": statement.policy_version,
            "Index": statement.statement_index,
            "Effect": statement.effect.value,
            "Text": _statement_text(explained, statement.policy_name, statement.policy_type, statement.statement_index),
        }
    report["PoliciesInForce"] = [f"{via}:{p.type.value}:{p.name}:{p.version}" for via, p in explained.policies]
    report["Context"] = {k: _shown(v) for k, v in sorted(explained.context.items())}
    return report


def _shown(value: ContextValue) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, tuple | list):
        return ",".join(_shown(item) for item in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _text(report: dict[str, Any]) -> str:
    lines = [f"{report['Decision'].upper()}  {report['Principal']}  {report['Action']}  {report['Resource']}"]
    if "Reason" in report:
        lines.append(f"  reason: {report['Reason']}")
    if report["Decision"] == "Deny":
        lines.append(f"  denial: {report['NoPermissionType']} ({report['PolicyType']})")
    statement = report.get("Statement")
    if statement is not None:
        lines.append(
            f"  decided by: {statement['PolicyType']} policy {statement['PolicyName']} "
            f"{statement['PolicyVersion'] or ''} Statement[{statement['Index']}] ({statement['Effect']})".replace(
                "  (", " ("
            )
        )
        if statement["Text"] is not None:
            lines.append("    " + json.dumps(statement["Text"], ensure_ascii=False))
    elif report["Decision"] == "Deny":
        lines.append("  decided by: no statement allows it")
    lines.append(f"  policies in force: {', '.join(report['PoliciesInForce']) or '(none)'}")
    lines.append("  context: " + ", ".join(f"{k}={v}" for k, v in report["Context"].items()))
    return "\n".join(lines)


@click.command("simulate")
@click.option(
    "--principal",
    required=True,
    metavar="PRINCIPAL",
    help="root, user/NAME, role/NAME (a session of the role), or the ARN acs:ram::<account>:user/NAME etc.",
)
@click.option("--action", required=True, metavar="ACTION", help="The RAM action, e.g. cen:ActiveFlowLog.")
@click.option(
    "--resource",
    "resources",
    required=True,
    multiple=True,
    metavar="ARN",
    help="A resource ARN, e.g. acs:cbn:cn-hangzhou:<account>:flowlog/<id>; repeat for calls naming several.",
)
@click.option(
    "--context",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A condition key, e.g. acs:SourceIp=192.0.2.10, acs:SecureTransport=true, "
    "acs:ResourceTag/env=prod; repeatable (a key given twice has several values). "
    "acs:CurrentTime defaults to now; resource tags default to the resource's stored tags.",
)
@click.option(
    "--session-policy",
    type=click.File("r"),
    default=None,
    help="With role/NAME: the session policy the STS token would carry (JSON file, or -).",
)
@click.option("--session-name", default="simulate", show_default=True, help="With role/NAME: the session name.")
@account_options
@format_option
def simulate_command(
    principal: str,
    action: str,
    resources: tuple[str, ...],
    pairs: tuple[str, ...],
    session_policy: Any,
    session_name: str,
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
    fmt: str,
) -> None:
    """Decide ACTION on the resources for PRINCIPAL as the server would, with the policies in force now.

    Prints Allow or Deny, the kind of denial, the statement that decided (policy, version, index
    and its text) and the context used.  Exit status: 0 for Allow, 2 for Deny.  Example:

        cenflow iam simulate --principal user/ops --action cen:ActiveFlowLog \\
            --resource acs:cbn:cn-hangzhou:1234567890123456:flowlog/flowlog-abc \\
            --context acs:SourceIp=192.0.2.10
    """
    state = State(data_dir, database_url, account_id)
    document = session_policy.read() if session_policy is not None else None
    if document is not None:
        try:
            parse_session_policy(document)
        except Exception as error:
            raise click.BadParameter(str(error), param_hint="--session-policy") from None
    who = _principal(state, principal, session_name, document)
    enforcer = Enforcer(PolicyCache())
    with state.read() as tx:
        explained = enforcer.explain(tx, who, action, resources, _context(pairs))
    report = _report(who, action, resources, explained)
    click.echo(json.dumps(report, ensure_ascii=False) if fmt == "json" else _text(report))
    if not explained.decision.allowed:
        raise SystemExit(2)
