"""A SIGKILL while flow logs are in transient states loses no transition.

Transitions are durable tasks: the server is killed while one flow log is ``Modifying``
(deactivated), one ``Creating`` and one ``Deleting``; the next process completes every task, each
exactly once, and the states the API reports are the ones the calls asked for.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import ServerFactory
from tests.e2e.cbn_support import GONE, REGION, Cbn, client_token, network, watch
from tests.harness import STACK_A_V3

pytestmark = pytest.mark.e2e

# Long enough that the kill lands before any of the three transitions is due (the calls and the
# status check take well under a second); the tasks keep their due times across the crash.
SLOW = ["--transition-delay", "5"]


def test_sigkill_mid_transition_then_restart_completes_every_task(server_factory: ServerFactory) -> None:
    server = server_factory(args=["--transition-delay", "0"])
    cbn = Cbn(server.client(STACK_A_V3))
    cen, _tr, attachments = network(cbn, attachments=3)
    modified = cbn.create_flowlog(cen, TransitRouterAttachmentId=attachments[0])
    deleted = cbn.create_flowlog(cen, TransitRouterAttachmentId=attachments[1])

    server.restart(args=SLOW)
    cbn = Cbn(server.client(STACK_A_V3))
    cbn("DeactiveFlowLog", {"RegionId": REGION, "FlowLogId": modified, "ClientToken": client_token()})
    cbn("DeleteFlowlog", {"RegionId": REGION, "FlowLogId": deleted, "ClientToken": client_token()})
    created = cbn.start_flowlog(cen, TransitRouterAttachmentId=attachments[2])
    assert [cbn.flowlog_status(f) for f in (modified, deleted, created)] == ["Modifying", "Deleting", "Creating"]

    assert server.kill() == -9
    assert "transition completed" not in server.current_log()  # nothing was done before the crash
    server.start()
    cbn = Cbn(server.client(STACK_A_V3))
    watch(lambda: cbn.flowlog_status(modified), "Inactive", "the deactivated flow log")
    watch(lambda: cbn.flowlog_status(deleted), GONE, "the deleted flow log")
    watch(lambda: cbn.flowlog_status(created), "Active", "the created flow log")

    completed = Counter(
        r["resource_id"]
        for r in server.log_records()
        if r.get("event") == "transition completed" and r.get("kind") == "flowlog"
    )
    # Once each before the kill (the two set up Active), and once each after it.
    assert completed == {modified: 2, deleted: 2, created: 1}
    assert sorted(f["FlowLogId"] for f in cbn.flowlogs(CenId=cen)) == sorted([modified, created])
