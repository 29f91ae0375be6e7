"""CPU per record of cenflow's collector in one process, without sockets: the profiling harness.

``bench/collector.py`` measures the whole receiver process over loopback, which takes minutes and
moves with whatever else runs on the machine.  This feeds the same kind of stream (softflowd's
v9 or IPFIX export, repeated with new 5-tuples per pass) straight into ``Collector.ingest`` in
batches of ``--batch`` datagrams, ticks as the collector loop would (``--tick-every`` batches),
then drains, against a data dir set up like the loopback benchmark's (one router, two
attachments, an Active 60 s flow log: every flow bound twice), pinned to one CPU like the loopback
receiver.  It reports CPU-seconds per million records (the process: every thread, the window
writer's included), and with ``--profile`` the functions that cost most (cProfile sees the calling
thread only: add ``--inline-writes`` to profile the window writes too).

Run: ``.venv/bin/python bench/collector_cpu.py`` (``--protocol ipfix``, ``--repeat``, ``--help``).
The stream and the pristine data dir are cached under ``--workdir``; every run starts from a
copy of the data dir, so runs are comparable.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import collector as loopback  # bench/collector.py: traffic, softflowd export, stream, data dir

from cenflow.collector.heap import DEFAULT_RETAIN_MIB, retain_freed_memory


def _stream(workdir: Path, protocol: str, flows: int, repeat: int) -> tuple[Path, int]:
    """The stream's file (cached) and its flow records."""
    base = workdir / f"{protocol}-{flows}x{repeat}"
    marker = base.with_suffix(".records")
    if not marker.exists():
        traffic = loopback.generate_traffic(flows, 28.0, 1_700_000_000)
        export = loopback.softflowd_export(traffic, 9 if protocol == "v9" else 10, workdir)
        # Ending 10 minutes ago: windows close as the stream advances, like the loopback runs.
        stream = loopback.build_stream(export, traffic, repeat, int(time.time()) - 600)
        stream.save(base)
        marker.write_text(str(stream.records))
    return base, int(marker.read_text())


def _data_dir(workdir: Path) -> Path:
    pristine = workdir / "pristine"
    if not pristine.exists():
        loopback.setup_cenflow(pristine / "data")
    run = workdir / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(pristine, run)
    return run / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=["v9", "ipfix"], default="v9")
    parser.add_argument("--flows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20, help="passes (20 x 50,000 flows: ~1 M records)")
    parser.add_argument("--batch", type=int, default=512, help="datagrams per ingest call")
    parser.add_argument("--tick-every", type=int, default=50, help="ingest calls between ticks")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cenflow-collector-cpu"))
    parser.add_argument("--cpu", type=int, default=0, help="pin the process to this CPU, as the loopback bench does")
    parser.add_argument("--inline-writes", action="store_true", help="write windows in the calling thread")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions")
    parser.add_argument(
        "--heap-retain",
        type=int,
        default=DEFAULT_RETAIN_MIB,
        metavar="MIB",
        help="as `cenflow collector --heap-retain` (0: glibc's defaults)",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})  # every thread on one core: CPU per record bounds the rate

    from cenflow.cli.state import open_database
    from cenflow.collector.service import Collector, CollectorSettings

    retain_freed_memory(args.heap_retain << 20)

    args.workdir.mkdir(parents=True, exist_ok=True)
    stream, records = _stream(args.workdir, args.protocol, args.flows, args.repeat)
    payloads = loopback.load_payloads(stream, None)
    data_dir = _data_dir(args.workdir)
    settings = CollectorSettings(data_dir=data_dir, background_writes=not args.inline_writes)
    collector = Collector(settings, open_database(data_dir, None))
    collector.refresh(force=True)
    host, port = loopback.HOST, 40_000
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for number, begin in enumerate(range(0, len(payloads), args.batch)):
        now = time.time()
        collector.ingest([(p, host, port, now) for p in payloads[begin : begin + args.batch]])
        if number % args.tick_every == args.tick_every - 1:
            collector.tick()
    collector.drain()
    collector.close()
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    decoded = collector.decoder.counters.snapshot()["flow_records"]
    print(
        f"{args.protocol}: {decoded:,} of {records:,} records, {len(payloads):,} datagrams; "
        f"{cpu:.2f} CPU-s ({cpu / decoded * 1e6:.3f} per M records), {wall:.2f} s wall"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
