"""Authorisation cost: microseconds per RAM policy evaluation, against a trivial peer.

The policy set is what a busy RAM user might carry: ``--policies`` custom policies (10) of
``--statements`` statements (5) each.  Every policy has one Deny with a ``NotIpAddress`` condition
and Allows over other services, with wildcard actions and resources and conditions on
``acs:SourceIp``, ``acs:CurrentTime``, ``acs:SecureTransport`` and ``acs:ResourceTag/...``.  The
statement that allows the measured call sits in the *last* policy, so an allowed call first checks
every Deny and then walks every Allow before it: the slow path, not the lucky one.

Scenarios, each an ``evaluate()`` of a pre-built ``AuthorizationRequest`` with policies compiled
once (as the compile cache keeps them):

- ``allow``: allowed by the last policy;
- ``allow+session``: the same call from a role session whose session policy also allows it;
- ``implicit``: an action nothing allows (every statement is tried);
- ``explicit``: refused by a Deny whose IP condition holds;
- ``two-resources``: an allowed call naming two resources;
- ``cache-hit``: ``PolicyCache.attached()`` for the ten policies (what a call pays to fetch them);
- ``enforcer``: the gateway's whole authorisation step, ``Enforcer.authorize``, for a RAM user
  holding the ten policies (half attached to it, half to a group it is in) on a migrated SQLite database in a
  temporary directory, inside an open transaction as in the gateway: the query for the policies
  in force, the one for the flow log's tags (the granting statement has a resource-tag
  condition), the cache lookups and the evaluation; the figure a signed call pays for RAM;
- peer ``fnmatch``: one ``fnmatch.fnmatchcase`` of an action against ``cen:Describe*``, the least a
  wildcard authoriser could do.

Also reported once: compiling the ten documents (what a cache miss costs).

The machine is shared: each round runs every scenario once in a shuffled order, and the report
gives the median over rounds of microseconds per call and of the per-round ratio to the peer.

Run: ``.venv/bin/python bench/authz.py`` (``--quick`` for a smoke run; ``--help`` for options).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from cryptography.fernet import Fernet

from cenflow.api.cbn import CBN
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain.resources import FLOWLOG as FLOWLOG_TYPE
from cenflow.iam import attachments, directory
from cenflow.iam import policies as custom_policies
from cenflow.iam.diagnostics import DiagnosticCodec
from cenflow.iam.enforcer import Enforcer
from cenflow.iam.keys import user_principal
from cenflow.iam.policy import (
    AttachedPolicy,
    AuthorizationRequest,
    DenialKind,
    PolicyCache,
    PolicyType,
    evaluate,
    parse_policy,
    parse_session_policy,
    request_context,
)
from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade
from cenflow.store.tags import put_tags
from cenflow.wire.spec import Args, OperationSpec

ACCOUNT = "1234567890123456"
FLOWLOG = f"acs:cbn:cn-hangzhou:{ACCOUNT}:flowlog/flowlog-m5evbtbpt9pdqqkbn4frt"
CEN = f"acs:cen:*:{ACCOUNT}:ceninstance/cen-7qthudw0ll6jmc7ktb"
SERVICES = ("vpc", "ecs", "oss", "rds", "slb", "kms", "sls", "ram", "sts", "cms")


def policy_document(index: int, statements: int, *, grants_call: bool) -> str:
    service = SERVICES[index % len(SERVICES)]
    body: list[dict[str, Any]] = [
        {
            "Effect": "Deny",
            "Action": [f"{service}:Delete*", "cen:Delete*"],
            "Resource": "*",
            "Condition": {"NotIpAddress": {"acs:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}},
        }
    ]
    for n in range(statements - 1):
        body.append(
            {
                "Effect": "Allow",
                "Action": [f"{service}:Describe*", f"{service}:List*", f"{service}:Get{n}*"],
                "Resource": [f"acs:{service}:*:{ACCOUNT}:instance/*", f"acs:{service}:cn-*:{ACCOUNT}:*/team-{n}-*"],
                "Condition": {
                    "IpAddress": {"acs:SourceIp": ["192.0.2.0/24", "198.51.100.0/24"]},
                    "DateLessThan": {"acs:CurrentTime": "2099-12-31T23:59:59+08:00"},
                    "StringEquals": {"acs:ResourceTag/team": [f"team-{n}", "platform"]},
                },
            }
        )
    if grants_call:
        body[-1] = {
            "Effect": "Allow",
            "Action": ["cen:Describe*", "cen:List*", "cen:*FlowLog*"],
            "Resource": [f"acs:cbn:*:{ACCOUNT}:flowlog/*", f"acs:cen:*:{ACCOUNT}:ceninstance/*"],
            "Condition": {
                "IpAddress": {"acs:SourceIp": ["192.0.2.0/24"]},
                "Bool": {"acs:SecureTransport": "true"},
                "StringEquals": {"acs:ResourceTag/team": ["platform", "network"]},
            },
        }
    return json.dumps({"Version": "1", "Statement": body})


def enforcer_scenario(stack: ExitStack, documents: list[str]) -> Callable[[], object]:
    """``Enforcer.authorize`` of an allowed DescribeFlowlogs by a user holding ``documents``."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-authz-")))
    database = Database(f"sqlite:///{workdir / 'cenflow.db'}")
    stack.callback(database.dispose)
    upgrade(database)
    now = datetime.now(UTC)
    with database.write() as tx:
        user = directory.create_user(tx, ACCOUNT, now, "bench")
        # The granting statement has an acs:ResourceTag condition: the flow log's tags are read too.
        put_tags(tx, FLOWLOG_TYPE, FLOWLOG.rsplit("/", 1)[1], {"team": "network"})
        directory.create_group(tx, ACCOUNT, now, "team", None)
        directory.add_user_to_group(tx, ACCOUNT, now, "bench", "team")
        for i, text in enumerate(documents):
            custom_policies.create_policy(tx, ACCOUNT, now, f"Team{i}", text, None)
            # RAM allows 5 custom policies per group: the rest are attached to the user.
            target, name = ("Group", "team") if i % 2 else ("User", "bench")
            attachments.attach(tx, ACCOUNT, now, target, name, PolicyType.CUSTOM, f"Team{i}")
    enforcer = Enforcer(PolicyCache(), DiagnosticCodec(SecretBox(Fernet.generate_key())))

    def handler(ctx: CallContext, args: Args) -> dict[str, Any]:
        del ctx, args
        return {}

    def resources(ctx: CallContext, args: Args) -> tuple[str, ...]:
        del ctx, args
        return (FLOWLOG,)

    operation = Operation(CBN, "DescribeFlowlogs", OperationSpec(()), handler, resources)
    args = operation.spec.parse({})
    tx = stack.enter_context(database.read())
    context = CallContext("BENCH", user_principal(ACCOUNT, user), "192.0.2.44", True, now, tx, cast(Any, None))
    enforcer.authorize(context, operation, args)  # raises if the policies do not allow it
    return lambda: enforcer.authorize(context, operation, args)


def measure(call: Callable[[], object], iterations: int) -> float:
    """Microseconds per call over ``iterations`` calls."""
    start = time.perf_counter_ns()
    for _ in range(iterations):
        call()
    return (time.perf_counter_ns() - start) / iterations / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=10)
    parser.add_argument("--statements", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20_000, help="calls per scenario per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 2,000 calls")
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.rounds = 2_000, 2

    documents = [policy_document(i, args.statements, grants_call=i == args.policies - 1) for i in range(args.policies)]
    compile_start = time.perf_counter_ns()
    policies = [AttachedPolicy(f"Team{i}", PolicyType.CUSTOM, "v1", parse_policy(d)) for i, d in enumerate(documents)]
    compile_us = (time.perf_counter_ns() - compile_start) / len(documents) / 1000
    cache = PolicyCache()
    for i, d in enumerate(documents):
        cache.attached(PolicyType.CUSTOM, f"Team{i}", "v1", d)
    session_policy = parse_session_policy(
        json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "cen:*", "Resource": "*"}]})
    )

    context = request_context(
        source_ip="192.0.2.44",
        current_time=datetime.now(UTC),
        secure_transport=True,
        mfa_present=False,
        resource_tags={"team": "network"},
    )
    outside = dict(context, **request_context(source_ip="203.0.113.9"))
    allowed = AuthorizationRequest("cen:DescribeFlowlogs", FLOWLOG, context)
    two = AuthorizationRequest("cen:DescribeFlowlogs", (FLOWLOG, CEN), context)
    nothing = AuthorizationRequest("cen:CreateCen", CEN, context)
    refused = AuthorizationRequest("cen:DeleteFlowlog", FLOWLOG, outside)

    checks = {
        "allow": (lambda: evaluate(allowed, policies), True),
        "allow+session": (lambda: evaluate(allowed, policies, session_policy), True),
        "implicit": (lambda: evaluate(nothing, policies), False),
        "explicit": (lambda: evaluate(refused, policies), False),
        "two-resources": (lambda: evaluate(two, policies), True),
    }
    for name, (call, expected) in checks.items():
        outcome = call()
        assert outcome.allowed is expected, f"{name}: {outcome}"
    assert evaluate(refused, policies).denial is DenialKind.EXPLICIT
    assert evaluate(nothing, policies).denial is DenialKind.IMPLICIT

    def fetch_from_cache() -> None:
        for i, d in enumerate(documents):
            cache.attached(PolicyType.CUSTOM, f"Team{i}", "v1", d)

    scenarios: dict[str, Callable[[], object]] = {name: call for name, (call, _) in checks.items()}
    scenarios["cache-hit"] = fetch_from_cache
    stack = ExitStack()
    scenarios["enforcer"] = enforcer_scenario(stack, documents)
    scenarios["fnmatch"] = lambda: fnmatch.fnmatchcase("cen:DescribeFlowlogs", "cen:Describe*")

    results: dict[str, list[float]] = {name: [] for name in scenarios}
    ratios: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(args.rounds):
        order = list(scenarios)
        random.shuffle(order)
        this_round = {name: measure(scenarios[name], args.iterations) for name in order}
        for name, us in this_round.items():
            results[name].append(us)
            ratios[name].append(us / this_round["fnmatch"])

    print(
        f"RAM policy evaluation: {args.policies} policies x {args.statements} statements, "
        f"{args.rounds} rounds x {args.iterations} calls (medians)"
    )
    print(f"{'scenario':<16}{'us/call':>10}{'x fnmatch':>12}")
    for name in scenarios:
        print(f"{name:<16}{statistics.median(results[name]):>10.2f}{statistics.median(ratios[name]):>12.1f}")
    print(f"compile (cache miss): {compile_us:.1f} us per document")
    stack.close()


if __name__ == "__main__":
    main()
