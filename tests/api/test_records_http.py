"""GET /api/projects/{p}/logstores/{l}/records over real HTTP: authentication, RAM, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pyarrow as pa
import pytest

from cenflow.logstore import LogStore
from cenflow.wire.signing import V3_ALGORITHM, v3_canonical_request, v3_signature, v3_string_to_sign
from tests.harness import CenflowServer

PROJECT, LOGSTORE = "records-proj", "records-store"
API = f"/api/projects/{PROJECT}/logstores/{LOGSTORE}"
PATH = f"{API}/records"
WINDOWS = (1_700_000_040, 1_700_000_100)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenflowServer]:
    with CenflowServer.in_directory(tmp_path_factory.mktemp("records")) as instance:
        store = LogStore.in_data_dir(instance.data_dir)
        for start in WINDOWS:
            store.append(
                PROJECT,
                LOGSTORE,
                pa.table(
                    {
                        "srcaddr": ["10.0.0.1", "10.0.0.2"],
                        "dstaddr": ["10.1.0.1", "10.1.0.2"],
                        "bytes": [100, 200],
                        "dstport": [443, 53],
                        "start": [start, start],
                        "end": [start + 60, start + 60],
                        "flow-log-id": ["flowlog-test", "flowlog-test"],
                    }
                ),
                writer_id="test",
            )
        yield instance


def basic(key_id: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


def lines(response: httpx.Response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_basic_auth_returns_every_record_as_json_lines(server: CenflowServer) -> None:
    with server.http() as http:
        records = lines(http.get(PATH, headers=basic(server.access_key_id or "", server.access_key_secret or "")))
    assert sorted((r["srcaddr"], r["window-start"]) for r in records) == sorted(
        (src, start) for start in WINDOWS for src in ("10.0.0.1", "10.0.0.2")
    )


def test_from_to_and_where_select_records(server: CenflowServer) -> None:
    auth = basic(server.access_key_id or "", server.access_key_secret or "")
    with server.http() as http:
        records = lines(http.get(PATH, params={"from": str(WINDOWS[1]), "where": "dstport = 443"}, headers=auth))
        iso = datetime.fromtimestamp(WINDOWS[1], UTC).isoformat()
        before = lines(http.get(PATH, params={"to": iso}, headers=auth))
    assert [(r["srcaddr"], r["window-start"]) for r in records] == [("10.0.0.1", WINDOWS[1])]
    assert {r["window-start"] for r in before} == {WINDOWS[0]}


def test_v3_signed_request_is_accepted_and_its_replay_refused(server: CenflowServer) -> None:
    host = server.endpoint
    headers = {
        "host": host,
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }
    signed = sorted(headers)
    query = {"limit": "1"}
    canonical = v3_canonical_request("GET", PATH, query, headers, signed, headers["x-acs-content-sha256"])
    signature = v3_signature(server.access_key_secret or "", v3_string_to_sign(canonical))
    headers["authorization"] = (
        f"{V3_ALGORITHM} Credential={server.access_key_id},SignedHeaders={';'.join(signed)},Signature={signature}"
    )
    with server.http() as http:
        assert len(lines(http.get(PATH, params=query, headers=headers))) == 1
        replay = http.get(PATH, params=query, headers=headers)
    assert replay.status_code == 400
    assert replay.json()["Code"] == "SignatureNonceUsed"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "Unauthorized"),
        ({"authorization": "Basic !!!"}, 401, "Unauthorized"),
        ({"authorization": "Bearer x"}, 400, "IncompleteSignature"),
    ],
)
def test_unauthenticated_requests_are_refused(
    server: CenflowServer, headers: dict[str, str], status: int, code: str
) -> None:
    with server.http() as http:
        response = http.get(PATH, headers=headers)
    assert (response.status_code, response.json()["Code"]) == (status, code)


def test_wrong_secret_and_unknown_key_are_refused(server: CenflowServer) -> None:
    with server.http() as http:
        wrong = http.get(PATH, headers=basic(server.access_key_id or "", "not-the-secret"))
        unknown = http.get(PATH, headers=basic("LTAInobody", "x"))
    assert (wrong.status_code, wrong.json()["Code"]) == (401, "InvalidAccessKeySecret")
    assert (unknown.status_code, unknown.json()["Code"]) == (404, "InvalidAccessKeyId.NotFound")


def test_bad_query_parameters_get_invalid_parameter(server: CenflowServer) -> None:
    auth = basic(server.access_key_id or "", server.access_key_secret or "")
    with server.http() as http:
        for params in (
            {"where": "nosuchfield = 1"},
            {"where": "1; DROP TABLE x"},
            {"from": "yesterday"},
            {"limit": "-3"},
        ):
            response = http.get(PATH, params=params, headers=auth)
            assert (response.status_code, response.json()["Code"]) == (400, "InvalidParameter"), params


def test_unknown_logstore_is_404(server: CenflowServer) -> None:
    with server.http() as http:
        response = http.get(
            f"/api/projects/{PROJECT}/logstores/nothing-here/records",
            headers=basic(server.access_key_id or "", server.access_key_secret or ""),
        )
    assert (response.status_code, response.json()["Code"]) == (404, "LogStoreNotExist")


def _user(server: CenflowServer, name: str, *policies: str) -> tuple[str, str]:
    argv = [
        sys.executable,
        "-m",
        "cenflow.cli.main",
        "iam",
        "create-user",
        name,
        "--format",
        "json",
        "--data-dir",
        str(server.data_dir),
    ]
    for policy in policies:
        argv += ["--policy", policy]
    created = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
    return created["AccessKeyId"], created["AccessKeySecret"]


def test_ram_user_needs_log_permission(server: CenflowServer) -> None:
    key_id, secret = _user(server, "records-reader-without-log")
    admin_id, admin_secret = _user(server, "records-admin", "AdministratorAccess")
    with server.http() as http:
        denied = http.get(PATH, headers=basic(key_id, secret))
        allowed = http.get(PATH, headers=basic(admin_id, admin_secret))
    assert (denied.status_code, denied.json()["Code"]) == (403, "Forbidden.RAM")
    assert denied.json()["AccessDeniedDetail"]["AuthAction"] == "log:GetLogStoreLogs"
    assert len(lines(allowed)) == 4


def test_top_talkers_rank_sources_by_bytes(server: CenflowServer) -> None:
    auth = basic(server.access_key_id or "", server.access_key_secret or "")
    with server.http() as http:
        response = http.get(API + "/top", params={"by": "srcaddr", "limit": "1"}, headers=auth)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert len(rows) == 1
    assert rows[0]["srcaddr"] == "10.0.0.2"
    assert rows[0]["bytes"] == 400  # 200 bytes in each of the two windows


def test_traffic_over_time_sums_each_bucket(server: CenflowServer) -> None:
    auth = basic(server.access_key_id or "", server.access_key_secret or "")
    with server.http() as http:
        response = http.get(API + "/traffic", params={"bucket": "60"}, headers=auth)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [row["bytes"] for row in rows] == [300, 300]


@pytest.mark.parametrize(
    ("suffix", "params", "status", "code"),
    [
        ("/top", {"by": "port"}, 400, "InvalidParameter"),
        ("/top", {"metric": "flows"}, 400, "InvalidParameter"),
        ("/traffic", {"bucket": "0"}, 400, "InvalidParameter"),
        ("/nothing", {}, 404, "NotFound"),
    ],
)
def test_analytics_refuse_bad_requests(
    server: CenflowServer, suffix: str, params: dict[str, str], status: int, code: str
) -> None:
    auth = basic(server.access_key_id or "", server.access_key_secret or "")
    with server.http() as http:
        response = http.get(API + suffix, params=params, headers=auth)
    assert (response.status_code, response.json()["Code"]) == (status, code)


def test_analytics_need_authentication(server: CenflowServer) -> None:
    with server.http() as http:
        response = http.get(API + "/top")
    assert (response.status_code, response.json()["Code"]) == (401, "Unauthorized")
