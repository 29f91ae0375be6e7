"""Per-stream sequence accounting and exporter-restart detection.

**Units.**  NetFlow v5 `flow_sequence` counts flow records, v9 `sequence` counts export packets,
IPFIX `sequenceNumber` counts data records (flow and options data) sent before the message.  A
gap adds one to `sequence_gaps` and the missing units (records for v5/IPFIX, packets for v9) to
`sequence_lost`.  A message behind the newest one seen (reordered, duplicated) is `late`: it is
decoded but moves neither the expectation nor the clocks.

**softflowd's IPFIX numbering.**  softflowd 1.1.0 numbers a message with the records *including*
its own (RFC 7011 says "before").  Each IPFIX stream therefore has a profile, unknown at first:
a message whose number matches only the RFC rule (previous number + previous records) locks
"rfc", one matching only the inclusive rule (previous number + its own records) locks
"inclusive"; while the two rules agree the profile stays unknown and neither reports a gap.  The
locked rule alone decides afterwards, so a real loss is still seen on such an exporter.  A
number *lower* than expected is never a loss: softflowd also leaves its options records out of
the count, so a message carrying options data comes in a little behind.

**Restart rule.**  A stream has restarted (its templates are dropped, its counters reset) when
* v5/v9: the header sysUptime went back by more than `clock_tolerance_ms` while the implied boot
  time (export time − sysUptime) moved forward by more than the tolerance and not by the 2^32 ms
  uptime wrap; or the sequence number fell behind the newest one by more than the version's
  window while sysUptime did not go back;
* IPFIX (no uptime): the sequence number fell behind by more than the window while the export
  time did not go back by more than the tolerance.
Going back in time *and* in sequence is a late datagram, never a restart: only a new exporting
process starts its numbers again at a later time.  Detection is conservative on purpose: a missed
restart is harmless because a restarted exporter re-sends its templates before its data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

WRAP = 1 << 32
HALF = 1 << 31

# How far behind the newest sequence number a message may be and still count as reordered
# rather than as a restarted exporter, in each version's own units.
SEQUENCE_WINDOW = {5: 30_000, 9: 1_000, 10: 30_000}


class Profile(Enum):
    UNKNOWN = "unknown"
    RFC = "rfc"
    INCLUSIVE = "inclusive"


# What `SequenceState.check` says about a message.
IN_ORDER, LATE, RESTART = 0, 1, 2


@dataclass(slots=True)
class SequenceState:
    version: int
    clock_tolerance_ms: int = 60_000
    last_seq: int | None = None
    last_units: int | None = None
    last_export_ms: int = 0
    last_uptime_ms: int = -1
    last_boot_ms: int = 0
    profile: Profile = field(default=Profile.UNKNOWN)

    def _behind(self, seq: int) -> int:
        """How many units `seq` is behind the newest number seen (0 if not behind)."""
        if self.last_seq is None:
            return 0
        distance = (self.last_seq - seq) % WRAP
        return distance if 0 < distance < HALF else 0

    def _clock_restart(self, export_ms: int, uptime_ms: int) -> bool:
        """sysUptime went back (checked by the caller): did the boot time move forward too?"""
        boot_shift = (export_ms - uptime_ms) - self.last_boot_ms
        wrapped = abs(boot_shift - WRAP) <= self.clock_tolerance_ms
        return boot_shift > self.clock_tolerance_ms and not wrapped

    def check(self, seq: int, export_ms: int, uptime_ms: int) -> int:
        """Classify a message from its header, before its sets are processed: IN_ORDER, LATE or
        RESTART.  `uptime_ms` is the v5/v9 sysUptime, -1 for IPFIX.  On a restart the state
        starts over."""
        last = self.last_seq
        if last is None:
            return IN_ORDER
        distance = (last - seq) % WRAP
        behind = distance if 0 < distance < HALF else 0
        if uptime_ms >= 0:
            clock_back = uptime_ms < self.last_uptime_ms - self.clock_tolerance_ms
            restart = clock_back and self._clock_restart(export_ms, uptime_ms)
        else:
            clock_back = export_ms < self.last_export_ms - self.clock_tolerance_ms
            restart = False
        if restart or (behind > SEQUENCE_WINDOW.get(self.version, 30_000) and not clock_back):
            self.last_seq = None
            self.last_units = None
            self.last_uptime_ms = -1
            self.profile = Profile.UNKNOWN
            return RESTART
        return LATE if behind else IN_ORDER

    def account(self, seq: int, units: int | None, export_ms: int, uptime_ms: int) -> int:
        """Record a processed (non-late) message; return the units lost before it (0 if none).

        `units` is what this message adds to the sequence (see module docstring), None when it
        held data sets of unknown templates so its record count is unknown.
        """
        lost = 0
        last, last_units = self.last_seq, self.last_units
        if last is not None:
            if self.version != 10:
                # v5/v9, called for every datagram: the RFC rule, inlined (`_lost` is the reference).
                if last_units is not None:
                    ahead = (seq - last - last_units) % WRAP
                    lost = ahead if ahead < HALF else 0
            else:
                lost = self._lost(seq, units)
        self.last_seq = seq
        self.last_units = units
        if export_ms > self.last_export_ms:
            self.last_export_ms = export_ms
        if uptime_ms >= 0:
            self.last_uptime_ms = uptime_ms
            self.last_boot_ms = export_ms - uptime_ms
        return lost

    def _lost(self, seq: int, units: int | None) -> int:
        assert self.last_seq is not None
        rfc = None if self.last_units is None else _signed(seq - (self.last_seq + self.last_units))
        if self.version != 10:
            return max(rfc or 0, 0)
        inclusive = None if units is None else _signed(seq - units - self.last_seq)
        if self.profile is Profile.UNKNOWN and rfc is not None and inclusive is not None:
            if rfc == 0 and inclusive != 0:
                self.profile = Profile.RFC
            elif inclusive == 0 and rfc != 0:
                self.profile = Profile.INCLUSIVE
        # Until a profile is known, a loss is judged by the RFC rule, and only when it cannot be
        # explained by the other rule either.
        if self.profile is Profile.INCLUSIVE:
            difference = inclusive
        elif self.profile is Profile.RFC or inclusive is None or inclusive != 0:
            difference = rfc
        else:
            difference = 0
        return max(difference or 0, 0)


def _signed(difference: int) -> int:
    """A difference of 32-bit sequence numbers as a signed number (wrap-aware)."""
    difference %= WRAP
    return difference - WRAP if difference >= HALF else difference
