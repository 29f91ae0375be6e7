"""Flow decoder throughput: records per second of `cenflow.flow.FlowDecoder.decode`, one core.

Inputs, each one exporter's continuous stream, decoded in batches of ``--batch`` datagrams (as the
receiver will hand them over), with a fresh decoder per round:

- ``softflowd v9`` / ``softflowd ipfix``: softflowd's exports of traffic_small.pcap (82 datagrams,
  2,000 flows, ~2.4 records per set, 4 templates interleaved) repeated ``--repeat`` times, their
  headers shifted so each repetition continues the stream (sequence numbers, clocks) instead of
  looking like an exporter restart;
- ``softflowd v5``: the v5 export, repeated the same way;
- ``fixed ipfix``: generated IPFIX with one 13-field IPv4 template (8-byte counters, ms times),
  25 records in one data set per message, template re-sent every 20 messages: a router-like
  fixed template, the case the numpy path is built for.

Peer, on the same inputs when installed: ``netflume`` 0.6 ``parse_message`` (pure Python, a dict
per record).  Rates count flow records only (options records excluded).  The machine is shared:
each round runs every case once, and the report gives the median over rounds.

Run: ``.venv/bin/python bench/decode.py`` (``--quick`` for a smoke run; ``--help`` for options).
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cenflow.flow import Datagram, FlowDecoder, read_udp

DEFAULT_TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "generated"
EXPORTER = ("192.0.2.1", 2055)
SHIFT_S = 100  # seconds each repetition of a capture is moved forward


def repeat_v9(payloads: list[bytes], times: int) -> list[bytes]:
    out = []
    for rep in range(times):
        for p in payloads:
            _, count, uptime, secs, seq, source = struct.unpack_from(">HHIIII", p)
            shifted = (uptime + rep * SHIFT_S * 1000, secs + rep * SHIFT_S, seq + rep * len(payloads))
            out.append(struct.pack(">HHIIII", 9, count, *shifted, source) + p[20:])
    return out


def repeat_ipfix(payloads: list[bytes], times: int, records_per_pass: int) -> list[bytes]:
    out = []
    for rep in range(times):
        for p in payloads:
            _, length, export, seq, domain = struct.unpack_from(">HHIII", p)
            shifted = (export + rep * SHIFT_S, (seq + rep * records_per_pass) % 2**32)
            out.append(struct.pack(">HHIII", 10, length, *shifted, domain) + p[16:])
    return out


def repeat_v5(payloads: list[bytes], times: int, records_per_pass: int) -> list[bytes]:
    out = []
    for rep in range(times):
        for p in payloads:
            fields = list(struct.unpack_from(">HHIIIIBBH", p))
            fields[2] += rep * SHIFT_S * 1000
            fields[3] += rep * SHIFT_S
            fields[5] = (fields[5] + rep * records_per_pass) % 2**32
            out.append(struct.pack(">HHIIIIBBH", *fields) + p[24:])
    return out


def fixed_ipfix(messages: int, per_message: int = 25) -> list[bytes]:
    """One 13-field, 55-byte IPv4 template; `per_message` records in one set per message."""
    fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (10, 4), (14, 4), (61, 1), (1, 8), (2, 8)]
    fields += [(152, 8), (153, 8)]
    template = struct.pack(">HH", 256, len(fields)) + b"".join(struct.pack(">HH", *f) for f in fields)
    template_set = struct.pack(">HH", 2, 4 + len(template)) + template
    record = struct.Struct(">IIHHBBIIBQQQQ")
    out, sequence = [], 0
    base_ms = 1_700_000_000_000
    for m in range(messages):
        start_ms = base_ms + m * 40
        rows = b"".join(
            record.pack(
                0x0A000000 + i,
                0xC0A80000 + m % 65536,
                1024 + i,
                443,
                6,
                0x18,
                1,
                2,
                0,
                1500 * (i + 1),
                i + 1,
                start_ms,
                start_ms + 30,
            )
            for i in range(per_message)
        )
        sets = (template_set if m % 20 == 0 else b"") + struct.pack(">HH", 256, 4 + len(rows)) + rows
        out.append(struct.pack(">HHIII", 10, 16 + len(sets), 1_700_000_000 + m // 1000, sequence, 1) + sets)
        sequence += per_message
    return out


def run_ours(payloads: list[bytes], batch: int) -> tuple[int, float]:
    decoder = FlowDecoder()
    datagrams = [Datagram(p, *EXPORTER) for p in payloads]
    records = 0
    start = time.process_time()
    for i in range(0, len(datagrams), batch):
        records += len(decoder.decode(datagrams[i : i + batch], now=1_800_000_000.0).flows)
    elapsed = time.process_time() - start
    assert decoder.counters.decode_errors == 0
    assert decoder.counters.sequence_gaps == 0, "the repeated stream should look continuous"
    return records, elapsed


def run_netflume(payloads: list[bytes], _batch: int) -> tuple[int, float]:
    import netflume

    store = netflume.TemplateStore()  # type: ignore[no-untyped-call]
    records = 0
    start = time.process_time()
    for p in payloads:
        _, flows, _ = netflume.parse_message(p, EXPORTER, store)  # type: ignore[no-untyped-call]
        records += len(flows)
    return records, time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA, help="folder of softflowd_export_*.pcap")
    parser.add_argument("--repeat", type=int, default=100, help="repetitions of each softflowd capture")
    parser.add_argument("--fixed-messages", type=int, default=8000, help="messages of the fixed-template stream")
    parser.add_argument("--batch", type=int, default=512, help="datagrams per decode call")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-peer", action="store_true", help="skip netflume")
    parser.add_argument("--quick", action="store_true", help="small inputs, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.fixed_messages, args.rounds = 5, 400, 1

    captures = {
        v: [p.payload for p in read_udp(args.testdata / f"softflowd_export_{v}.pcap")] for v in ("v5", "v9", "ipfix")
    }
    cases = {
        "softflowd v9": repeat_v9(captures["v9"], args.repeat),
        # softflowd numbers IPFIX messages with the flow records up to and including their own,
        # so the last message's number is the offset of one pass.
        "softflowd ipfix": repeat_ipfix(
            captures["ipfix"], args.repeat, struct.unpack_from(">I", captures["ipfix"][-1], 8)[0]
        ),
        "softflowd v5": repeat_v5(captures["v5"], args.repeat, 1834),
        "fixed ipfix": fixed_ipfix(args.fixed_messages),
    }
    runners: dict[str, Callable[[list[bytes], int], tuple[int, float]]] = {"cenflow": run_ours}
    if not args.no_peer:
        try:
            import netflume  # noqa: F401
        except ImportError:
            print("netflume not installed: no peer column", file=sys.stderr)
        else:
            runners["netflume"] = run_netflume

    rates: dict[tuple[str, str], list[float]] = {}
    counts: dict[str, int] = {}
    for _ in range(args.rounds):
        for case, payloads in cases.items():
            for name, runner in runners.items():
                records, elapsed = runner(payloads, args.batch)
                counts[case] = records
                rates.setdefault((case, name), []).append(records / elapsed)

    print(f"flow decoding, one core, batches of {args.batch} datagrams, median of {args.rounds} round(s)")
    header = f"{'input':<18}{'datagrams':>10}{'records':>10}" + "".join(f"{n + ' rec/s':>18}" for n in runners)
    print(header + ("   ratio" if "netflume" in runners else ""))
    for case, payloads in cases.items():
        medians = {name: statistics.median(rates[(case, name)]) for name in runners}
        line = f"{case:<18}{len(payloads):>10}{counts[case]:>10}" + "".join(f"{medians[n]:>18,.0f}" for n in runners)
        if "netflume" in medians:
            line += f"{medians['cenflow'] / medians['netflume']:>7.1f}x"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
