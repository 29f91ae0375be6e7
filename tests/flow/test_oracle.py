"""Oracle: softflowd's exports of traffic_small.pcap decode to the generator's ground truth.

Read with our pcap reader, fed to one decoder as the datagrams of one exporter, summed per
5-tuple (ICMP ports are 0 in the truth file and in our rows): v9 and IPFIX must match all 2,000
flows exactly, v5 the 1,834 IPv4 ones.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from cenflow.flow import FlowBatch, FlowDecoder
from tests.flow.samples import require_testdata, softflowd_datagrams, truth

NOW = 1_800_000_000.0


def sums_per_flow(flows: FlowBatch) -> dict[str, tuple[int, int]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in flows.to_dicts():
        key = f"{row['src_addr']}|{row['dst_addr']}|{row['src_port']}|{row['dst_port']}|{row['protocol']}"
        sums[key][0] += row["packets"]
        sums[key][1] += row["bytes"]
    return {key: (value[0], value[1]) for key, value in sums.items()}


@pytest.fixture(autouse=True, scope="module")
def _testdata() -> None:
    require_testdata()


@pytest.mark.parametrize("version", ["v9", "ipfix"])
def test_v9_and_ipfix_exports_match_every_flow_of_the_ground_truth(version: str) -> None:
    decoder = FlowDecoder()
    batch = decoder.decode(softflowd_datagrams(version), now=NOW)
    assert len(batch.flows) == 2000
    assert len(batch.options) == 6  # softflowd's sampling description, kept apart from flows
    assert sums_per_flow(batch.flows) == truth()
    assert decoder.counters.decode_errors == 0


def test_v5_export_matches_every_ipv4_flow_of_the_ground_truth() -> None:
    ipv4_truth = {key: value for key, value in truth().items() if ":" not in key}
    assert len(ipv4_truth) == 1834
    batch = FlowDecoder().decode(softflowd_datagrams("v5"), now=NOW)
    assert sums_per_flow(batch.flows) == ipv4_truth


@pytest.mark.parametrize("version", ["v5", "v9", "ipfix"])
def test_batch_boundaries_do_not_change_the_result(version: str) -> None:
    datagrams = softflowd_datagrams(version)
    decoder = FlowDecoder()
    parts = [decoder.decode(datagrams[i : i + 7], now=NOW).flows for i in range(0, len(datagrams), 7)]
    whole = FlowDecoder().decode(datagrams, now=NOW).flows
    assert sums_per_flow(FlowBatch.concat(parts)) == sums_per_flow(whole)


@pytest.mark.parametrize("version", ["v9", "ipfix"])
def test_flow_times_lie_within_the_capture(version: str) -> None:
    flows = FlowDecoder().decode(softflowd_datagrams(version), now=NOW).flows
    # traffic_small.pcap spans 2023-11-14 22:13:20 to 22:14:28 UTC.
    assert flows.start_ms.min() >= 1_700_000_000_000
    assert flows.end_ms.max() <= 1_700_000_068_999
    assert (flows.end_ms >= flows.start_ms).all()
    assert set(flows.ip_version.tolist()) == {4, 6}
