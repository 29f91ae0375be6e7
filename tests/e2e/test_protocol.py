"""The RPC protocol end to end: the official SDKs (stacks A-V3, A-v2/RPC v1 and C) against the real
server over HTTP."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import click
import httpx
import pytest

from tests.harness import (
    STACK_A_V2,
    STACK_A_V3,
    STACK_C,
    STACKS,
    CenflowServer,
    SdkClient,
    api_error,
    utc_timestamp,
)

pytestmark = pytest.mark.e2e

REQUEST_ID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
ENVELOPE_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}


def catalogue() -> list[dict[str, Any]]:
    """The region catalogue the server ships with (what it serves without --region-catalogue)."""
    text = resources.files("cenflow.data").joinpath("regions.json").read_text(encoding="utf-8")
    regions: list[dict[str, Any]] = json.loads(text)["regions"]
    return regions


def region_ids(body: dict[str, Any]) -> list[str]:
    return [region["RegionId"] for region in body["Regions"]["Region"]]


def local_names(body: dict[str, Any]) -> dict[str, str]:
    return {region["RegionId"]: region["LocalName"] for region in body["Regions"]["Region"]}


def assert_envelope(body: dict[str, Any], code: str) -> None:
    """Alibaba's error body: RequestId (upper-case UUID), HostId, Code, Message, Recommend."""
    assert set(body) >= ENVELOPE_KEYS, body
    assert REQUEST_ID.fullmatch(body["RequestId"]), body
    assert body["HostId"] == "cbn.aliyuncs.com"
    assert body["Code"] == code
    assert isinstance(body["Message"], str)
    assert body["Message"]
    assert body["Recommend"].startswith("https://api.aliyun.com/troubleshoot?")
    assert f"q={code}" in body["Recommend"]
    assert body["RequestId"] in body["Recommend"]


# -- DescribeChildInstanceRegions ----------------------------------------------------------------
def test_describe_child_instance_regions(sdk: SdkClient) -> None:
    body = sdk.describe_child_instance_regions()
    assert REQUEST_ID.fullmatch(body["RequestId"])
    assert region_ids(body) == [region["RegionId"] for region in catalogue()]
    # Without AcceptLanguage the names are zh-CN.
    assert local_names(body)["cn-hangzhou"] == "华东1（杭州）"


@pytest.mark.parametrize("product_type", ["VPC", "VBR", "CCN"])
def test_describe_child_instance_regions_by_product_type(sdk: SdkClient, product_type: str) -> None:
    body = sdk.describe_child_instance_regions(product_type=product_type)
    expected = [r["RegionId"] for r in catalogue() if product_type in r.get("ProductTypes", ("VPC", "VBR"))]
    assert region_ids(body) == expected
    if product_type == "CCN":
        assert "cn-shanghai" in expected
        assert "cn-hangzhou" not in expected


@pytest.mark.parametrize(
    ("language", "hangzhou", "frankfurt"),
    [
        ("en-US", "China (Hangzhou)", "Germany (Frankfurt)"),
        ("ja", "中国（杭州）", "ドイツ（フランクフルト）"),
        ("zh-CN", "华东1（杭州）", "德国（法兰克福）"),
    ],
)
def test_describe_child_instance_regions_names_follow_accept_language(
    sdk: SdkClient, language: str, hangzhou: str, frankfurt: str
) -> None:
    names = local_names(sdk.describe_child_instance_regions(accept_language=language))
    assert names["cn-hangzhou"] == hangzhou
    assert names["eu-central-1"] == frankfurt


def test_describe_child_instance_regions_through_the_generic_api(sdk: SdkClient) -> None:
    body = sdk.call("DescribeChildInstanceRegions", {"ProductType": "CCN", "AcceptLanguage": "en-US"})
    assert local_names(body)["cn-shanghai"] == "China (Shanghai)"


@pytest.mark.parametrize(("name", "value"), [("ProductType", "ECS"), ("AcceptLanguage", "fr-FR")])
def test_a_value_outside_the_allowed_choices_is_an_invalid_parameter(sdk: SdkClient, name: str, value: str) -> None:
    failure = api_error(sdk.call, "DescribeChildInstanceRegions", {name: value})
    assert (failure.code, failure.status) == ("InvalidParameter", 400)
    assert name in failure.message


# -- authentication errors, as each SDK raises them ---------------------------------------------
def test_wrong_secret(server: CenflowServer, sdk_stack: str) -> None:
    client = server.client(sdk_stack, access_key_secret="not-the-secret")
    failure = api_error(client.describe_child_instance_regions)
    if sdk_stack == STACK_C:
        # Stack C recognises its own string to sign in the message and rewrites the error.
        assert (failure.code, failure.status) == ("InvalidAccessKeySecret", 400)
        assert failure.message.startswith("The AccessKeySecret is incorrect.")
    else:
        assert (failure.code, failure.status) == ("SignatureDoesNotMatch", 400)
        assert "server string to sign is:" in failure.message
    from alibabacloud_tea_openapi.exceptions import ClientException
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    assert isinstance(failure.exception, ServerException if sdk_stack == STACK_C else ClientException)


def test_unknown_access_key(server: CenflowServer, sdk_stack: str) -> None:
    client = server.client(sdk_stack, access_key_id="LTAI5tNoSuchKey000000000", access_key_secret="whatever")
    failure = api_error(client.describe_child_instance_regions)
    assert (failure.code, failure.status) == ("InvalidAccessKeyId.NotFound", 404)


@pytest.mark.parametrize("offset", [-timedelta(minutes=20), timedelta(minutes=20)], ids=["past", "future"])
def test_stale_timestamp(sdk: SdkClient, offset: timedelta) -> None:
    with sdk.signing(timestamp=utc_timestamp(datetime.now(UTC) + offset)):
        failure = api_error(sdk.describe_child_instance_regions)
    assert (failure.code, failure.status) == ("InvalidTimeStamp.Expired", 400)


def test_replayed_request(sdk: SdkClient) -> None:
    # Pinning both the timestamp and the nonce makes the SDK send the very same signed request.
    with sdk.signing(timestamp=utc_timestamp(), nonce=uuid.uuid4().hex):
        first = sdk.describe_child_instance_regions(accept_language="en-US")
        failure = api_error(sdk.describe_child_instance_regions, accept_language="en-US")
    assert first["Regions"]["Region"]
    assert (failure.code, failure.status) == ("SignatureNonceUsed", 400)


def test_a_nonce_cannot_be_reused_for_another_request(sdk: SdkClient) -> None:
    nonce = uuid.uuid4().hex
    with sdk.signing(nonce=nonce):
        sdk.describe_child_instance_regions(product_type="VPC")
        failure = api_error(sdk.describe_child_instance_regions, product_type="VBR")
    assert (failure.code, failure.status) == ("SignatureNonceUsed", 400)


def test_a_refused_call_cannot_be_replayed(sdk: SdkClient) -> None:
    # The call fails after its signature was verified (its transaction rolls back); its nonce
    # must still be recorded, or the same request could be replayed once it would succeed.
    with sdk.signing(timestamp=utc_timestamp(), nonce=uuid.uuid4().hex):
        refused = api_error(sdk.invoke, "ActiveFlowLog", {"RegionId": "cn-hangzhou", "FlowLogId": "flowlog-unknown0"})
        replayed = api_error(sdk.invoke, "ActiveFlowLog", {"RegionId": "cn-hangzhou", "FlowLogId": "flowlog-unknown0"})
    assert (refused.code, refused.status) == ("InvalidFlowlogId.NotFound", 400)
    assert (replayed.code, replayed.status) == ("SignatureNonceUsed", 400)


def test_a_failed_signature_does_not_burn_the_nonce(server: CenflowServer, sdk_stack: str) -> None:
    nonce = uuid.uuid4().hex
    impostor = server.client(sdk_stack, access_key_secret="not-the-secret")
    with impostor.signing(nonce=nonce):
        api_error(impostor.describe_child_instance_regions)
    client = server.client(sdk_stack)
    with client.signing(nonce=nonce):
        assert client.describe_child_instance_regions()["Regions"]["Region"]


def test_replay_protection_survives_a_restart(server_factory: Any) -> None:
    server: CenflowServer = server_factory()
    clients = {stack: server.client(stack) for stack in STACKS}
    pinned = {stack: (utc_timestamp(), uuid.uuid4().hex) for stack in STACKS}
    for stack, client in clients.items():
        timestamp, nonce = pinned[stack]
        with client.signing(timestamp=timestamp, nonce=nonce):
            client.describe_child_instance_regions()
    server.restart()
    for stack, client in clients.items():
        timestamp, nonce = pinned[stack]
        with client.signing(timestamp=timestamp, nonce=nonce):
            failure = api_error(client.describe_child_instance_regions)
        assert (failure.code, failure.status) == ("SignatureNonceUsed", 400), stack


def test_replay_protection_survives_a_crash(server_factory: Any) -> None:
    server: CenflowServer = server_factory()
    client = server.client(STACKS[0])
    timestamp, nonce = utc_timestamp(), uuid.uuid4().hex
    with client.signing(timestamp=timestamp, nonce=nonce):
        client.describe_child_instance_regions()
    assert server.kill() == -9
    server.start()
    with client.signing(timestamp=timestamp, nonce=nonce):
        failure = api_error(client.describe_child_instance_regions)
    assert (failure.code, failure.status) == ("SignatureNonceUsed", 400)


# -- routing errors ------------------------------------------------------------------------------
def test_unknown_action(sdk: SdkClient) -> None:
    failure = api_error(sdk.call, "DescribeNothingAtAll")
    assert (failure.code, failure.status) == ("InvalidAction.NotFound", 404)
    assert "DescribeNothingAtAll" in failure.message


def test_unknown_version(sdk: SdkClient) -> None:
    failure = api_error(sdk.call, "DescribeChildInstanceRegions", version="2099-01-01")
    assert (failure.code, failure.status) == ("InvalidVersion", 400)
    assert "2099-01-01" in failure.message


@pytest.mark.parametrize("stack", [STACK_A_V3, STACK_A_V2])  # stack C refuses an empty version itself
def test_a_missing_version_is_a_missing_parameter(server: CenflowServer, stack: str) -> None:
    failure = api_error(server.client(stack).call, "DescribeChildInstanceRegions", version="")
    assert (failure.code, failure.status) == ("MissingParameter", 400)
    assert "Version" in failure.message


# -- parameter errors ---------------------------------------------------------------------------
def test_missing_required_parameter(sdk: SdkClient) -> None:
    # ActiveFlowLog requires FlowLogId; the gateway answers with the parameter's own code.
    failure = api_error(sdk.invoke, "ActiveFlowLog", {"RegionId": "cn-hangzhou", "CenId": "cen-7qthudw0ll6jmc0000"})
    assert (failure.code, failure.status) == ("MissingFlowLogId", 400)
    assert "FlowLogId" in failure.message


@pytest.mark.parametrize("stack", [STACK_A_V3, STACK_A_V2])  # stack C always sends its client region
def test_missing_region_id(server: CenflowServer, stack: str) -> None:
    failure = api_error(server.client(stack).invoke, "ActiveFlowLog", {"FlowLogId": "flowlog-m5evbtbpt0000"})
    assert (failure.code, failure.status) == ("MissingRegionId", 400)


@pytest.mark.parametrize("value", ["abc", "1.5", "12abc", "0x10", "99999999999999999999", "٣", ""])
def test_malformed_integer(sdk: SdkClient, value: str) -> None:
    failure = api_error(sdk.call, "DescribeFlowlogs", {"RegionId": "cn-hangzhou", "PageSize": value or " "})
    assert (failure.code, failure.status) == ("InvalidParameter", 400)
    assert "PageSize" in failure.message


def test_an_integer_out_of_bounds_is_an_invalid_parameter(sdk: SdkClient) -> None:
    failure = api_error(sdk.invoke, "DescribeFlowlogs", {"RegionId": "cn-hangzhou", "PageSize": 51})
    assert (failure.code, failure.status) == ("InvalidParameter", 400)
    assert "PageSize" in failure.message


def test_a_malformed_integer_with_its_own_error_code(sdk: SdkClient) -> None:
    failure = api_error(sdk.call, "DescribeFlowlogs", {"RegionId": "cn-hangzhou", "Interval": "ten"})
    assert (failure.code, failure.status) == ("InvalidParameter.Interval", 400)


def test_integers_and_booleans_as_python_sdks_send_them(sdk: SdkClient) -> None:
    # Stack A sends str(True) == "True"; PageSize goes out as a decimal string.
    body = sdk.invoke("DescribeFlowlogs", {"RegionId": "cn-hangzhou", "PageSize": 50, "PageNumber": 1})
    assert REQUEST_ID.fullmatch(body["RequestId"])


# -- the error envelope -------------------------------------------------------------------------
def test_sdk_errors_carry_the_envelope_and_a_request_id(sdk: SdkClient, server: CenflowServer) -> None:
    failure = api_error(sdk.call, "DescribeNothingAtAll")
    assert failure.request_id is not None
    assert REQUEST_ID.fullmatch(failure.request_id)
    if failure.body is not None:  # stack A keeps the whole body; stack C only code and message
        assert_envelope(failure.body, "InvalidAction.NotFound")
    # The request id quoted to the caller is the one in the server's log.
    record = server.request_log(failure.request_id)
    assert record["code"] == "InvalidAction.NotFound"
    assert record["status"] == 404


def _envelope_cases() -> list[tuple[str, dict[str, Any], str, int]]:
    return [
        ("unsigned", {"method": "POST", "url": "/?Action=DescribeChildInstanceRegions"}, "MissingParameter", 400),
        (
            "foreign authorization",
            {"method": "POST", "url": "/", "headers": {"Authorization": "Bearer x"}},
            "IncompleteSignature",
            400,
        ),
        (
            "malformed ACS3 authorization",
            {"method": "POST", "url": "/", "headers": {"Authorization": "ACS3-HMAC-SHA256 nonsense"}},
            "IncompleteSignature",
            400,
        ),
        ("unsupported method", {"method": "PUT", "url": "/"}, "UnsupportedHTTPMethod", 405),
        ("invalid UTF-8", {"method": "GET", "url": "/?Action=%FF"}, "InvalidParameter", 400),
        ("repeated parameter", {"method": "GET", "url": "/?a=1&a=2"}, "InvalidParameter", 400),
        (
            "unsupported body type",
            {"method": "POST", "url": "/", "content": b"{}", "headers": {"Content-Type": "application/json"}},
            "InvalidParameter.ContentType",
            415,
        ),
        (
            "body too large",
            {
                "method": "POST",
                "url": "/",
                "content": b"a=" + b"x" * (1 << 20),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            "InvalidParameter.RequestTooLarge",
            413,
        ),
        (
            "v1 signature of an unknown key",
            {
                "method": "POST",
                "url": "/?Action=DescribeChildInstanceRegions&Version=2017-09-12&AccessKeyId=LTAIx&SignatureMethod="
                "HMAC-SHA1&SignatureNonce=n&Signature=x&Timestamp=" + utc_timestamp().replace(":", "%3A"),
            },
            "InvalidAccessKeyId.NotFound",
            404,
        ),
    ]


@pytest.mark.parametrize(
    ("request_args", "code", "status"),
    [case[1:] for case in _envelope_cases()],
    ids=[case[0] for case in _envelope_cases()],
)
def test_error_bodies_are_alibaba_envelopes(
    server: CenflowServer, request_args: dict[str, Any], code: str, status: int
) -> None:
    with server.http() as http:
        response = http.request(**request_args)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert_envelope(response.json(), code)


def test_every_request_gets_its_own_request_id(server: CenflowServer) -> None:
    with server.http() as http:
        ids = {http.post("/").json()["RequestId"] for _ in range(20)}
    assert len(ids) == 20


# -- the process ---------------------------------------------------------------------------------
def test_healthz(server: CenflowServer) -> None:
    with server.http() as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_generated_root_key(server_factory: Any) -> None:
    server: CenflowServer = server_factory(generated_key=True)
    credentials = server.credentials()
    secret = credentials["access_key_secret"]
    assert credentials["access_key_id"].startswith("LTAI")
    assert len(secret) >= 30
    assert stat.S_IMODE(server.credentials_path.stat().st_mode) == 0o600
    # The generated key works with every SDK ...
    for stack in STACKS:
        assert server.client(stack).describe_child_instance_regions()["Regions"]["Region"]
    # ... and survives a restart unchanged.
    server.restart()
    assert server.credentials() == credentials
    assert server.client(STACKS[0]).describe_child_instance_regions()["Regions"]["Region"]
    server.stop()
    log = server.log_text()
    assert credentials["access_key_id"] in log  # the id is logged, so an operator can find it
    assert secret not in log
    assert str(server.credentials_path) in log


def test_private_files_are_not_readable_by_others(server: CenflowServer) -> None:
    for name in ("master.key", "account-id"):
        mode = stat.S_IMODE((server.data_dir / name).stat().st_mode)
        assert mode & 0o077 == 0, f"{name} has mode {mode:o}"


def test_no_secret_in_the_log(server: CenflowServer, sdk_stack: str) -> None:
    # A failed signature's message carries the server's string to sign, never the secret.
    api_error(server.client(sdk_stack, access_key_secret="not-the-secret").describe_child_instance_regions)
    assert server.access_key_secret is not None
    assert server.access_key_secret not in server.log_text()


def test_restart_with_extra_flags(server_factory: Any) -> None:
    server: CenflowServer = server_factory(args=["--signature-window", "1"])
    client = server.client(STACKS[0])
    with client.signing(timestamp=utc_timestamp(datetime.now(UTC) - timedelta(minutes=5))):
        failure = api_error(client.describe_child_instance_regions)
    assert failure.code == "InvalidTimeStamp.Expired"
    server.restart(args=[])  # back to the default window of 15 minutes
    with client.signing(timestamp=utc_timestamp(datetime.now(UTC) - timedelta(minutes=5))):
        assert client.describe_child_instance_regions()["Regions"]["Region"]


def test_sigterm_stops_cleanly(server_factory: Any) -> None:
    server: CenflowServer = server_factory()
    assert server.client(STACKS[0]).describe_child_instance_regions()
    server.stop()  # asserts the exit status and the shutdown markers
    assert not server.running
    with pytest.raises(httpx.TransportError), httpx.Client() as http:
        http.get(f"{server.base_url}/healthz")


# -- the command line ----------------------------------------------------------------------------
def _command_paths() -> list[list[str]]:
    from cenflow.cli.main import cli

    paths: list[list[str]] = [[]]

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in sorted(group.commands.items()):
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(cli, [])
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda path: " ".join(path) or "cenflow")
def test_help(path: list[str]) -> None:
    # In process (a subprocess per command would cost a second each); the entry point itself is
    # run as a process below.
    from click.testing import CliRunner

    from cenflow.cli.main import cli

    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="cenflow")
    assert result.exit_code == 0, result.output
    assert "Usage: cenflow" in result.output


@pytest.mark.parametrize(
    "command",
    [
        [str(Path(sys.executable).with_name("cenflow")), "--help"],
        [sys.executable, "-m", "cenflow.cli.main", "serve", "--help"],
    ],
    ids=["cenflow --help", "python -m cenflow.cli.main serve --help"],
)
def test_help_as_a_process(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


# -- parameter values survive the round trip through every signer and decoder -------------------------
AWKWARD_VALUES = [
    "prod a*b~c/d",  # §5.2 of the reference: space, "*", "~", "/"
    "a+b&c=d%20e",  # form-encoding separators and an escape that must stay literal
    "%",
    "%FF",
    "中文 値",
    "emoji 😀",
    "'\"<>#?[]{}|\\^`",
    "a;b,c:d@e$f!g(h)",
]


def test_awkward_values_arrive_intact(server_factory: Any) -> None:
    server: CenflowServer = server_factory()
    created: dict[str, tuple[str, str]] = {}
    for stack in STACKS:
        client = server.client(stack)
        for value in AWKWARD_VALUES:
            cen_id = client.invoke("CreateCen", {"Name": "awkward", "Description": value})["CenId"]
            created[cen_id] = (stack, value)
    described = server.client(STACKS[0]).invoke("DescribeCens", {"PageSize": 50})
    descriptions = {cen["CenId"]: cen.get("Description") for cen in described["Cens"]["Cen"]}
    for cen_id, (stack, value) in created.items():
        assert descriptions[cen_id] == value, (stack, value)
