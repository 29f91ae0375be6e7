"""The UDP receive batch: the C drain (recvmmsg) hands over exactly what the recvfrom loop does
(payload, sender address and port, one receive time per batch), in order, up to `max_count`."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from cenflow.collector import receiver as receiver_module
from cenflow.collector.receiver import UdpReceiver
from cenflow.flow.speedups import NATIVE

SIZES = [0, 1, 24, 1400, 9000, 65507, 2, 65507, 300]


@pytest.fixture(params=["native", "python"])
def udp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[UdpReceiver, list[socket.socket]]]:
    """A receiver and two connected senders; every test runs on the C drain and on the Python loop."""
    if request.param == "native":
        assert NATIVE is not None
    else:
        monkeypatch.setattr(receiver_module, "NATIVE", None)
    receiver = UdpReceiver("127.0.0.1", 0, buffer_bytes=8 << 20)
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for sender in senders:
        sender.bind(("127.0.0.1", 0))
        sender.connect(("127.0.0.1", receiver.port))
    yield receiver, senders
    for sender in senders:
        sender.close()
    receiver.close()


def _send(senders: list[socket.socket], rounds: int = 1) -> list[tuple[bytes, str, int]]:
    """Datagrams of every size from alternating senders; loopback queues them before send returns."""
    sent = []
    for number in range(rounds * len(SIZES)):
        sender = senders[number % 2]
        payload = bytes([number % 251]) * SIZES[number % len(SIZES)]
        sender.send(payload)
        sent.append((payload, "127.0.0.1", sender.getsockname()[1]))
    return sent


def test_a_batch_is_every_queued_datagram_in_order(udp: tuple[UdpReceiver, list[socket.socket]]) -> None:
    receiver, senders = udp
    sent = _send(senders, rounds=8)  # 72 datagrams: more than one recvmmsg chunk
    batch = receiver.receive(512, 1.0)
    assert [(payload, host, port) for payload, host, port, _ in batch] == sent
    assert len({when for *_, when in batch}) == 1
    assert receiver.receive(512, 0.01) == []


def test_a_batch_stops_at_max_count(udp: tuple[UdpReceiver, list[socket.socket]]) -> None:
    receiver, senders = udp
    sent = _send(senders)
    got = []
    for expected in (4, 4, 1, 0):
        batch = receiver.receive(4, 0.01)
        assert len(batch) == expected
        got += [(payload, host, port) for payload, host, port, _ in batch]
    assert got == sent


def test_drain_refuses_a_closed_socket() -> None:
    assert NATIVE is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    descriptor = sock.fileno()
    sock.close()
    with pytest.raises(OSError):
        NATIVE.drain_udp(descriptor, 4, 0.0, [])


class _SendWhilePolling:
    """The receiver's poller, sending one more burst the first time the receiver waits on it
    (loopback queues a datagram before `send` returns), so the burst arrives while it lingers."""

    def __init__(self, poller: object, burst: Callable[[], list[tuple[bytes, str, int]]]) -> None:
        self.poller = poller
        self.burst = burst
        self.sent: list[tuple[bytes, str, int]] = []
        self.polls = 0

    def poll(self, timeout: int) -> list[tuple[int, int]]:
        self.polls += 1
        if self.polls == 1:
            self.sent = self.burst()
        result: list[tuple[int, int]] = self.poller.poll(timeout)  # type: ignore[attr-defined]
        return result


def test_a_lingering_batch_takes_what_arrives_meanwhile(udp: tuple[UdpReceiver, list[socket.socket]]) -> None:
    receiver, senders = udp
    first = _send(senders)
    waiting = _SendWhilePolling(receiver._poller, lambda: _send(senders, rounds=2))
    receiver._poller = waiting  # type: ignore[assignment]
    batch = receiver.receive(512, 1.0, linger=0.5)  # not full: gathers until half a second is up
    assert waiting.polls >= 1
    assert [(payload, host, port) for payload, host, port, _ in batch[: len(first)]] == first
    assert [(payload, host, port) for payload, host, port, _ in batch[len(first) :]] == waiting.sent


def test_a_full_batch_does_not_linger(udp: tuple[UdpReceiver, list[socket.socket]]) -> None:
    receiver, senders = udp
    sent = _send(senders)
    waiting = _SendWhilePolling(receiver._poller, lambda: _send(senders))
    receiver._poller = waiting  # type: ignore[assignment]
    batch = receiver.receive(len(sent), 1.0, linger=0.5)
    assert [(payload, host, port) for payload, host, port, _ in batch] == sent
    assert waiting.polls == 0
