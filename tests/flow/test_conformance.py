"""Conformance with the vendor corpus: record counts of every group of netflow-vendors/EXPECTED.md.

Each group is fed in order to one decoder (one template store) as datagrams from one exporter,
through both the slow path (`inspect`) and the fast path (`decode`).  Counts include options
records.  Field values are checked in test_conformance_netflow.py and test_conformance_ipfix.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from cenflow.flow import FlowDecoder
from tests.flow.conformance_support import NOW, decode_group
from tests.flow.samples import VENDORS, require_testdata, vendor_datagrams


@dataclass(frozen=True)
class Group:
    files: tuple[str, ...]
    records: int | None  # flow + options records of all files; None: upstream only requires no crash

    @property
    def id(self) -> str:
        return self.files[0].removesuffix(".dat") + ("+" if len(self.files) > 1 else "")


def g(*files: str, records: int | None) -> Group:
    return Group(files, records)


GROUPS = [
    g("netflow5.dat", records=30),  # 12 datagrams; the first holds 2
    g("netflow5_test_invalid01.dat", records=0),
    g("netflow5_test_invalid02.dat", records=0),
    g("netflow5_test_microtik.dat", records=30),
    g("netflow5_test_juniper_mx80.dat", records=29),
    g("netflow9_test_valid01.dat", records=7),
    g("netflow9_test_macaddr_tpl.dat", "netflow9_test_macaddr_data.dat", records=30),
    g("netflow9_test_cisco_aci_tpl256-258.dat", "netflow9_test_cisco_aci_data256.dat", records=3),
    g("netflow9_test_cisco_asa_1_tpl.dat", "netflow9_test_cisco_asa_1_data.dat", records=14),
    g(
        "netflow9_test_nprobe_tpl.dat",
        "netflow9_test_softflowd_tpl_data.dat",
        "netflow9_test_nprobe_data.dat",
        records=9,
    ),
    g("netflow9_test_nprobe_tpl.dat", records=1),
    g("netflow9_test_invalid01.dat", records=None),
    g(
        "netflow9_test_cisco_asa_2_tpl_26x.dat",
        "netflow9_test_cisco_asa_2_tpl_27x.dat",
        "netflow9_test_cisco_asa_2_data.dat",
        records=19,
    ),
    g("netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat", records=12),
    g("netflow9_test_h3c_tpl3281.dat", "netflow9_test_h3c_data3281.dat", records=16),
    g("netflow9_test_unknown_tpl266_292_data.dat", records=2),
    g(
        "netflow9_test_paloalto_81_tpl256-263.dat",
        "netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat",
        records=1,
    ),
    g(
        "netflow9_test_h3c_netstream_varstring_tpl3281.dat",
        "netflow9_test_h3c_netstream_varstring_data3281.dat",
        records=1,
    ),
    g(
        "netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat",
        "netflow9_test_fortigate_fortios_542_appid_data258_262.dat",
        records=17,
    ),
    g(
        "netflow9_test_ubnt_edgerouter_tpl.dat",
        "netflow9_test_ubnt_edgerouter_data1024.dat",
        "netflow9_test_ubnt_edgerouter_data1025.dat",
        records=16,
    ),
    g("netflow9_test_nprobe_dpi.dat", records=1),
    g(
        "netflow9_test_fortigate_fortios_521_tpl.dat",
        "netflow9_test_fortigate_fortios_521_data256.dat",
        "netflow9_test_fortigate_fortios_521_data257.dat",
        records=2,
    ),
    g("netflow9_test_streamcore_tpl_data256.dat", "netflow9_test_streamcore_tpl_data260.dat", records=4),
    g("netflow9_test_juniper_srx_tplopt.dat", records=1),
    g("netflow9_test_0length_fields_tpl_data.dat", records=10),
    g("netflow9_test_cisco_asr9k_opttpl256.dat", "netflow9_test_cisco_asr9k_data256.dat", records=19),
    g("netflow9_test_huawei_netstream_tpl.dat", "netflow9_test_huawei_netstream_data.dat", records=1),
    g("netflow9_test_field_layer2segmentid_tpl.dat", "netflow9_test_field_layer2segmentid_data.dat", records=1),
    g("netflow9_test_cisco_asr9k_tpl260.dat", "netflow9_test_cisco_asr9k_data260.dat", records=21),
    g("netflow9_test_cisco_nbar_opttpl260.dat", records=15),
    g("netflow9_test_cisco_nbar_tpl262.dat", "netflow9_test_cisco_nbar_data262.dat", records=5),
    g("netflow9_test_cisco_wlc_tpl.dat", "netflow9_test_cisco_wlc_data261.dat", records=19),
    g("netflow9_test_cisco_wlc_8510_tpl_262.dat", records=None),
    g("netflow9_test_cisco_1941K9.dat", records=None),
    g("netflow9_cisco_asr1001x_tpl259.dat", records=None),
    g("netflow9_test_paloalto_panos_tpl.dat", "netflow9_test_paloalto_panos_data.dat", records=8),
    g("ipfix.dat", records=13),  # 3 messages; the first holds 7
    g("ipfix_test_openbsd_pflow_tpl.dat", "ipfix_test_openbsd_pflow_data.dat", records=26),
    g("ipfix_test_ixia_tpldata256.dat", records=1),
    g(
        "ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat",
        "ipfix_test_juniper_mx240_junos151r6s3_data512.dat",
        records=1,
    ),
    g("ipfix_test_nokia_bras_tpl.dat", "ipfix_test_nokia_bras_data256.dat", records=1),
    g("ipfix_test_procera_tpl52935.dat", "ipfix_test_procera_data52935.dat", records=8),
    g(
        "ipfix_test_barracuda_extended_uniflow_tpl256.dat",
        "ipfix_test_barracuda_extended_uniflow_data256.dat",
        records=2,
    ),
    g("ipfix_test_mikrotik_tpl.dat", "ipfix_test_mikrotik_data258.dat", "ipfix_test_mikrotik_data259.dat", records=46),
    g("ipfix_test_netscaler_tpl.dat", "ipfix_test_netscaler_data.dat", records=3),
    g("ipfix_test_netscaler_data.dat", records=0),
    g(
        "ipfix_test_vmware_vds_tpl.dat",
        "ipfix_test_vmware_vds_data264.dat",
        "ipfix_test_vmware_vds_data266.dat",
        "ipfix_test_vmware_vds_data266_267.dat",
        records=5,
    ),
    g("ipfix_test_viptela_tpl257.dat", "ipfix_test_viptela_data257.dat", records=1),
    g("ipfix_test_barracuda_tpl.dat", "ipfix_test_barracuda_data256.dat", records=8),
    g(
        "ipfix_test_yaf_tpls_option_tpl.dat",
        "ipfix_test_yaf_tpl45841.dat",
        "ipfix_test_yaf_data45841.dat",
        "ipfix_test_yaf_data45873.dat",
        "ipfix_test_yaf_data53248.dat",
        records=3,
    ),
    # Not used upstream; counts from walking the sets.
    g("ipfix_test_ixia_tpldata271.dat", records=2),
    g("netflow9_test_cisco_asr9k_opttpl257.dat", records=0),
    g("netflow9_test_cisco_asr9k_opttpl334.dat", records=0),
    g("netflow9_test_cisco_asr9k_tpl266.dat", records=0),
]


@pytest.fixture(autouse=True, scope="module")
def _testdata() -> None:
    require_testdata()


@pytest.mark.parametrize("group", GROUPS, ids=[group.id for group in GROUPS])
def test_vendor_group_decodes_to_expected_values(group: Group) -> None:
    decoded = decode_group(*group.files)
    if group.records is not None:
        assert len(decoded.records) == group.records
    # The fast path emits the same records as the slow one, flows as rows, options beside.
    assert len(decoded.flows) == len(decoded.flow_records)
    assert len(decoded.options) == len(decoded.records) - len(decoded.flow_records)


@pytest.mark.parametrize(("name", "records"), [("netflow5.dat", 2), ("ipfix.dat", 7)])
def test_first_message_of_multi_message_sample_has_expected_count(name: str, records: int) -> None:
    first = vendor_datagrams(name)[:1]
    assert len(FlowDecoder().inspect(first, now=NOW)) == records


@pytest.mark.parametrize("name", ["netflow5_test_invalid01.dat", "netflow5_test_invalid02.dat"])
def test_v5_sample_declaring_more_records_than_it_holds_is_rejected(name: str) -> None:
    decoder = FlowDecoder()
    assert len(decoder.decode(vendor_datagrams(name), now=NOW).flows) == 0
    assert decoder.counters.decode_errors == 1


def test_groups_cover_every_sample_file_and_every_expected_md_group() -> None:
    files = {path.name for path in VENDORS.glob("*.dat")}
    assert len(files) == 92
    in_groups = {name for group in GROUPS for name in group.files}
    assert in_groups == files
    headings = [line for line in (VENDORS / "EXPECTED.md").read_text().splitlines() if line.startswith("### ")]
    mentioned = {name for line in headings for name in re.findall(r"[\w.-]+\.dat", line)}
    assert mentioned <= in_groups
    sequences = {group.files for group in GROUPS}
    for line in headings:
        if ".dat" not in line:
            continue
        names = tuple(re.findall(r"[\w.-]+\.dat", line))
        alone = "alone" in line or "invalid01.dat, netflow5_test_invalid02" in line or "wlc_8510" in line
        assert alone or names in sequences, line


@pytest.mark.parametrize("name", sorted(p.name for p in VENDORS.glob("*.dat")))
def test_every_sample_decodes_alone_without_exception(name: str) -> None:
    decoder = FlowDecoder()
    datagrams = vendor_datagrams(name)
    decoder.decode(datagrams, now=NOW)
    decoder.inspect(datagrams, now=NOW)
    assert decoder.counters.datagrams == 2 * len(datagrams)
