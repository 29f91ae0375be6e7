"""Information elements: names and value types, for the slow per-record (debug and options) path.

The fast path never looks at names; it only needs element ids (see `layout`).  This table gives
the IANA names (RFC 7012 registry) of the elements real exporters send, and how to render their
values: NetFlow v9 field types 1-127 are the same numbers as IPFIX, so one table serves both.
NetFlow v9 ids above 32767 are vendor-specific (Cisco NSEL, Palo Alto) and have their own small
table, because in IPFIX the top bit of an id means "enterprise number follows" instead.

Names for elements missing from the tables: ``ie<id>`` for standard ids and ``ie<pen>.<id>`` for
enterprise-specific ones; reverse elements of RFC 5103 (PEN 29305) are named ``reverse<Name>``.
"""

from __future__ import annotations

import ipaddress
import struct
from enum import Enum

REVERSE_PEN = 29305
VARIABLE_LENGTH = 65535


class Kind(Enum):
    UNSIGNED = "unsigned"
    SIGNED = "signed"
    FLOAT = "float"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    MAC = "mac"
    STRING = "string"
    OCTETS = "octets"


_U, _I, _F, _4, _6, _M, _S, _O = (
    Kind.UNSIGNED,
    Kind.SIGNED,
    Kind.FLOAT,
    Kind.IPV4,
    Kind.IPV6,
    Kind.MAC,
    Kind.STRING,
    Kind.OCTETS,
)

# id -> (IANA name, kind).  Unsigned counters, identifiers and timestamps are all rendered as ints.
IANA_ELEMENTS: dict[int, tuple[str, Kind]] = {
    1: ("octetDeltaCount", _U),
    2: ("packetDeltaCount", _U),
    3: ("deltaFlowCount", _U),
    4: ("protocolIdentifier", _U),
    5: ("ipClassOfService", _U),
    6: ("tcpControlBits", _U),
    7: ("sourceTransportPort", _U),
    8: ("sourceIPv4Address", _4),
    9: ("sourceIPv4PrefixLength", _U),
    10: ("ingressInterface", _U),
    11: ("destinationTransportPort", _U),
    12: ("destinationIPv4Address", _4),
    13: ("destinationIPv4PrefixLength", _U),
    14: ("egressInterface", _U),
    15: ("ipNextHopIPv4Address", _4),
    16: ("bgpSourceAsNumber", _U),
    17: ("bgpDestinationAsNumber", _U),
    18: ("bgpNextHopIPv4Address", _4),
    19: ("postMCastPacketDeltaCount", _U),
    20: ("postMCastOctetDeltaCount", _U),
    21: ("flowEndSysUpTime", _U),
    22: ("flowStartSysUpTime", _U),
    23: ("postOctetDeltaCount", _U),
    24: ("postPacketDeltaCount", _U),
    25: ("minimumIpTotalLength", _U),
    26: ("maximumIpTotalLength", _U),
    27: ("sourceIPv6Address", _6),
    28: ("destinationIPv6Address", _6),
    29: ("sourceIPv6PrefixLength", _U),
    30: ("destinationIPv6PrefixLength", _U),
    31: ("flowLabelIPv6", _U),
    32: ("icmpTypeCodeIPv4", _U),
    33: ("igmpType", _U),
    34: ("samplingInterval", _U),
    35: ("samplingAlgorithm", _U),
    36: ("flowActiveTimeout", _U),
    37: ("flowIdleTimeout", _U),
    38: ("engineType", _U),
    39: ("engineId", _U),
    40: ("exportedOctetTotalCount", _U),
    41: ("exportedMessageTotalCount", _U),
    42: ("exportedFlowRecordTotalCount", _U),
    44: ("sourceIPv4Prefix", _4),
    45: ("destinationIPv4Prefix", _4),
    46: ("mplsTopLabelType", _U),
    47: ("mplsTopLabelIPv4Address", _4),
    48: ("samplerId", _U),
    49: ("samplerMode", _U),
    50: ("samplerRandomInterval", _U),
    51: ("classId", _U),
    52: ("minimumTTL", _U),
    53: ("maximumTTL", _U),
    54: ("fragmentIdentification", _U),
    55: ("postIpClassOfService", _U),
    56: ("sourceMacAddress", _M),
    57: ("postDestinationMacAddress", _M),
    58: ("vlanId", _U),
    59: ("postVlanId", _U),
    60: ("ipVersion", _U),
    61: ("flowDirection", _U),
    62: ("ipNextHopIPv6Address", _6),
    63: ("bgpNextHopIPv6Address", _6),
    64: ("ipv6ExtensionHeaders", _U),
    70: ("mplsTopLabelStackSection", _O),
    71: ("mplsLabelStackSection2", _O),
    72: ("mplsLabelStackSection3", _O),
    80: ("destinationMacAddress", _M),
    81: ("postSourceMacAddress", _M),
    82: ("interfaceName", _S),
    83: ("interfaceDescription", _S),
    84: ("samplerName", _S),
    85: ("octetTotalCount", _U),
    86: ("packetTotalCount", _U),
    88: ("fragmentOffset", _U),
    89: ("forwardingStatus", _U),
    90: ("mplsVpnRouteDistinguisher", _O),
    92: ("srcTrafficIndex", _U),
    93: ("dstTrafficIndex", _U),
    94: ("applicationDescription", _S),
    95: ("applicationId", _O),
    96: ("applicationName", _S),
    98: ("postIpDiffServCodePoint", _U),
    128: ("bgpNextAdjacentAsNumber", _U),
    129: ("bgpPrevAdjacentAsNumber", _U),
    130: ("exporterIPv4Address", _4),
    131: ("exporterIPv6Address", _6),
    132: ("droppedOctetDeltaCount", _U),
    133: ("droppedPacketDeltaCount", _U),
    134: ("droppedOctetTotalCount", _U),
    135: ("droppedPacketTotalCount", _U),
    136: ("flowEndReason", _U),
    137: ("commonPropertiesId", _U),
    138: ("observationPointId", _U),
    139: ("icmpTypeCodeIPv6", _U),
    141: ("lineCardId", _U),
    142: ("portId", _U),
    143: ("meteringProcessId", _U),
    144: ("exportingProcessId", _U),
    145: ("templateId", _U),
    147: ("wlanSSID", _S),
    148: ("flowId", _U),
    149: ("observationDomainId", _U),
    150: ("flowStartSeconds", _U),
    151: ("flowEndSeconds", _U),
    152: ("flowStartMilliseconds", _U),
    153: ("flowEndMilliseconds", _U),
    154: ("flowStartMicroseconds", _U),
    155: ("flowEndMicroseconds", _U),
    156: ("flowStartNanoseconds", _U),
    157: ("flowEndNanoseconds", _U),
    158: ("flowStartDeltaMicroseconds", _U),
    159: ("flowEndDeltaMicroseconds", _U),
    160: ("systemInitTimeMilliseconds", _U),
    161: ("flowDurationMilliseconds", _U),
    162: ("flowDurationMicroseconds", _U),
    163: ("observedFlowTotalCount", _U),
    164: ("ignoredPacketTotalCount", _U),
    165: ("ignoredOctetTotalCount", _U),
    166: ("notSentFlowTotalCount", _U),
    167: ("notSentPacketTotalCount", _U),
    168: ("notSentOctetTotalCount", _U),
    176: ("icmpTypeIPv4", _U),
    177: ("icmpCodeIPv4", _U),
    178: ("icmpTypeIPv6", _U),
    179: ("icmpCodeIPv6", _U),
    180: ("udpSourcePort", _U),
    181: ("udpDestinationPort", _U),
    182: ("tcpSourcePort", _U),
    183: ("tcpDestinationPort", _U),
    184: ("tcpSequenceNumber", _U),
    185: ("tcpAcknowledgementNumber", _U),
    186: ("tcpWindowSize", _U),
    192: ("ipTTL", _U),
    195: ("ipDiffServCodePoint", _U),
    196: ("ipPrecedence", _U),
    197: ("fragmentFlags", _U),
    209: ("tcpOptions", _U),
    210: ("paddingOctets", _O),
    211: ("collectorIPv4Address", _4),
    212: ("collectorIPv6Address", _6),
    213: ("exportInterface", _U),
    214: ("exportProtocolVersion", _U),
    215: ("exportTransportProtocol", _U),
    216: ("collectorTransportPort", _U),
    217: ("exporterTransportPort", _U),
    224: ("ipTotalLength", _U),
    225: ("postNATSourceIPv4Address", _4),
    226: ("postNATDestinationIPv4Address", _4),
    227: ("postNAPTSourceTransportPort", _U),
    228: ("postNAPTDestinationTransportPort", _U),
    229: ("natOriginatingAddressRealm", _U),
    230: ("natEvent", _U),
    231: ("initiatorOctets", _U),
    232: ("responderOctets", _U),
    233: ("firewallEvent", _U),
    234: ("ingressVRFID", _U),
    235: ("egressVRFID", _U),
    236: ("VRFname", _S),
    239: ("biflowDirection", _U),
    243: ("dot1qVlanId", _U),
    244: ("dot1qPriority", _U),
    245: ("dot1qCustomerVlanId", _U),
    252: ("ingressPhysicalInterface", _U),
    253: ("egressPhysicalInterface", _U),
    254: ("postDot1qVlanId", _U),
    256: ("ethernetType", _U),
    281: ("postNATSourceIPv6Address", _6),
    282: ("postNATDestinationIPv6Address", _6),
    298: ("initiatorPackets", _U),
    299: ("responderPackets", _U),
    302: ("selectorId", _U),
    304: ("selectorAlgorithm", _U),
    305: ("samplingPacketInterval", _U),
    306: ("samplingPacketSpace", _U),
    322: ("observationTimeSeconds", _U),
    323: ("observationTimeMilliseconds", _U),
    324: ("observationTimeMicroseconds", _U),
    325: ("observationTimeNanoseconds", _U),
    346: ("privateEnterpriseNumber", _U),
    351: ("layer2SegmentId", _U),
    365: ("staMacAddress", _M),
    366: ("staIPv4Address", _4),
    367: ("wtpMacAddress", _M),
}

# NetFlow v9 field types above 32767 that exporters use; there is no registry for these.
V9_VENDOR_ELEMENTS: dict[int, tuple[str, Kind]] = {
    33000: ("ingressAclId", _O),
    33001: ("egressAclId", _O),
    33002: ("fwExtEvent", _U),
    40000: ("aaaUsername", _S),
    40001: ("xlateSrcAddrIPv4", _4),
    40002: ("xlateDstAddrIPv4", _4),
    40003: ("xlateSrcPort", _U),
    40004: ("xlateDstPort", _U),
    40005: ("fwEvent", _U),
    56701: ("panAppId", _S),
    56702: ("panUserId", _S),
}


def element_name(element_id: int, enterprise: int = 0, version: int = 10) -> str:
    """The name a debug record uses for an element (see module docstring for unknown ones)."""
    if enterprise == 0:
        table = V9_VENDOR_ELEMENTS if version == 9 and element_id > 0x7FFF else IANA_ELEMENTS
        known = table.get(element_id)
        return known[0] if known else f"ie{element_id}"
    if enterprise == REVERSE_PEN and element_id in IANA_ELEMENTS:
        name = IANA_ELEMENTS[element_id][0]
        return "reverse" + name[0].upper() + name[1:]
    return f"ie{enterprise}.{element_id}"


def element_kind(element_id: int, enterprise: int = 0, version: int = 10) -> Kind | None:
    if enterprise == 0:
        table = V9_VENDOR_ELEMENTS if version == 9 and element_id > 0x7FFF else IANA_ELEMENTS
    elif enterprise == REVERSE_PEN:
        table = IANA_ELEMENTS
    else:
        return None
    known = table.get(element_id)
    return known[1] if known else None


Value = int | float | str | bytes


def render_value(raw: bytes, kind: Kind | None) -> Value:
    """Turn the raw bytes of one field into a Python value; never raises.

    Reduced-size encoding (RFC 7011 §6.2) is why integers take any width.  A value whose width
    does not fit its kind (an "address" of 3 bytes) is returned as bytes rather than guessed at.
    """
    size = len(raw)
    if kind is None:
        return int.from_bytes(raw, "big") if 0 < size <= 8 else bytes(raw)
    if kind is Kind.UNSIGNED:
        return int.from_bytes(raw, "big") if size <= 8 else bytes(raw)
    if kind is Kind.SIGNED:
        return int.from_bytes(raw, "big", signed=True) if size <= 8 else bytes(raw)
    if kind is Kind.FLOAT and size in (4, 8):
        return float(struct.unpack(">f" if size == 4 else ">d", raw)[0])
    if kind is Kind.IPV4 and size == 4:
        return str(ipaddress.IPv4Address(bytes(raw)))
    if kind is Kind.IPV6 and size == 16:
        return str(ipaddress.IPv6Address(bytes(raw)))
    if kind is Kind.MAC and size == 6:
        return ":".join(f"{b:02x}" for b in raw)
    if kind is Kind.STRING:
        # Exporters pad fixed-width strings with NULs (and NetScaler terminates var-len ones).
        return bytes(raw).decode("utf-8", errors="replace").rstrip("\x00")
    return bytes(raw)
