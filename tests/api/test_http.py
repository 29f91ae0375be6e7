"""cenflow.api.http: the RPC endpoint's plain-ASGI reading of bodies and writing of answers.

The requests here never reach the gateway (they fail while the body is read), so the endpoint
gets a stand-in for it; everything that does reach it is covered end to end (tests/e2e).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, cast

import pytest

from cenflow.api.gateway import Gateway
from cenflow.api.http import MAX_BODY_BYTES, RpcEndpoint, new_request_id, receive_body, wire_request

Message = dict[str, Any]


def scope(headers: list[tuple[bytes, bytes]] | None = None, method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": headers or [],
        "client": ("127.0.0.1", 40000),
        "scheme": "http",
    }


def run(scope_: dict[str, Any], incoming: list[Message]) -> list[Message]:
    """Drive the endpoint with these receive messages; return what it sent."""
    sent: list[Message] = []
    pending = list(incoming)

    async def receive() -> Message:
        return pending.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    endpoint = RpcEndpoint(cast(Gateway, object()))
    asyncio.run(endpoint(scope_, receive, send))
    return sent


def test_a_body_that_grows_past_the_limit_without_a_declared_length_is_refused() -> None:
    chunk = b"x" * (MAX_BODY_BYTES // 2 + 1)
    sent = run(
        scope(),
        [
            {"type": "http.request", "body": chunk, "more_body": True},
            {"type": "http.request", "body": chunk, "more_body": True},
            {"type": "http.request", "body": b"never read", "more_body": False},
        ],
    )
    start, body = sent
    assert start["status"] == 413
    assert (b"content-type", b"application/json;charset=utf-8") in start["headers"]
    assert (b"content-length", str(len(body["body"])).encode()) in start["headers"]
    assert json.loads(body["body"])["Code"] == "InvalidParameter.RequestTooLarge"


def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    headers = [(b"content-length", str(MAX_BODY_BYTES + 1).encode())]
    sent = run(scope(headers), [])  # receiving anything would fail: there is nothing to receive
    assert sent[0]["status"] == 413


def test_a_malformed_declared_length_is_refused() -> None:
    sent = run(scope([(b"content-length", b"12x")]), [])
    assert sent[0]["status"] == 413


def test_a_client_that_goes_away_gets_no_answer() -> None:
    assert run(scope(), [{"type": "http.disconnect"}]) == []


def test_a_body_in_several_chunks_is_read_whole() -> None:
    parts = [b"Action=Describe", b"Cens&Version=2017-09-12", b""]
    messages: list[Message] = [{"type": "http.request", "body": p, "more_body": i < 2} for i, p in enumerate(parts)]

    async def receive() -> Message:
        return messages.pop(0)

    form = scope([(b"content-type", b"application/x-www-form-urlencoded")])
    body = asyncio.run(receive_body(form, receive))
    assert wire_request(form, body).form == {"Action": "DescribeCens", "Version": "2017-09-12"}


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_methods_are_refused_with_the_alibaba_envelope(method: str) -> None:
    start, body = run(scope(method=method), [])
    assert start["status"] == 405
    assert json.loads(body["body"])["Code"] == "UnsupportedHTTPMethod"


def test_request_ids_are_unique_upper_case_hex_in_uuid_groups() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", i) for i in ids)
