"""Proteus's requests and the server's answers: nothing that crashes it is sent, no refusal passes.

amdinfer-server v0.4.0 segfaults on invalid JSON (NaN and Infinity included),
a missing JSON content type or an empty body, and reads out-of-range numbers
as raw bits (DESIGN.md §4): the fake records such a request in `crashes`, and
every test here asserts there is none. Every answer that is not 2xx fails the
action or blocks the hook, and an empty one points to the server's log.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from typing import Any

import pytest
from ops import testing

from model_server_charm.families.amdinfer import api
from model_server_charm.server_client import ModelServerClient, RequestRefusedError
from tests.charms import PROTEUS, ThinCharm
from tests.unit.fake_amdinfer import FakeAmdinfer
from tests.unit.proteus_states import ECHO_PAYLOAD, repository_model, state


@pytest.fixture
def charm() -> ThinCharm:
    return PROTEUS


NOT_FINITE = "which is not finite: model servers refuse NaN and infinity (JSON has neither)"


def _echo_payload(data: str) -> str:
    """The echo request with `data` written as it is (NaN, 1e999: not Python's JSON)."""
    return json.dumps(ECHO_PAYLOAD).replace("[3]", data)


@pytest.mark.parametrize(
    ("payload", "number"),
    [
        (_echo_payload("[NaN]"), "NaN"),
        (_echo_payload("[Infinity]"), "Infinity"),
        (_echo_payload("[-Infinity]"), "-Infinity"),
        (_echo_payload("[1e999]"), "1e999"),
        (_echo_payload("[-1.5e400]"), "-1.5e400"),
        (_echo_payload("[3]").replace("}]}", '}], "parameters": {"t": NaN}}'), "NaN"),
    ],
    ids=["nan", "infinity", "minus-infinity", "1e999", "minus-1.5e400", "nan-in-parameters"],
)
def test_non_finite_numbers_are_never_sent(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, payload: str, number: str
):
    amdinfer.loaded.add("echo")
    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(ctx.on.action("predict", params={"payload": payload}), state(amdinfer.port))
    assert failure.value.message == f"payload has the number {number!r}, {NOT_FINITE}"
    assert amdinfer.posts() == []


# (the model's input datatype, an element, the rule it breaks; None: it may be sent)
ELEMENTS = [
    ("UINT8", 256, "a UINT8 integer, from 0 to 255"),
    ("UINT8", 255, None),
    ("UINT16", 65536, "a UINT16 integer, from 0 to 65535"),
    ("UINT32", -1, "a UINT32 integer, from 0 to 4294967295"),
    ("UINT32", 2**32, "a UINT32 integer, from 0 to 4294967295"),
    ("UINT32", 10**63, "a UINT32 integer, from 0 to 4294967295"),
    ("UINT32", True, "a UINT32 integer, from 0 to 4294967295"),
    ("UINT32", 1.5, "a UINT32 integer, from 0 to 4294967295"),
    ("UINT32", 2**32 - 1, None),
    ("UINT64", 2**64, "a UINT64 integer, from 0 to 18446744073709551615"),
    ("UINT64", 2**64 - 1, None),
    ("INT8", 128, "a INT8 integer, from -128 to 127"),
    ("INT8", -129, "a INT8 integer, from -128 to 127"),
    ("INT8", -128, None),
    ("INT16", 32768, "a INT16 integer, from -32768 to 32767"),
    ("INT32", 2**31, "a INT32 integer, from -2147483648 to 2147483647"),
    ("INT64", 2**63, "a INT64 integer, from -9223372036854775808 to 9223372036854775807"),
    ("INT64", -(2**63) - 1, "a INT64 integer, from -9223372036854775808 to 9223372036854775807"),
    ("INT64", -(2**63), None),
    ("FP16", 65505, "a finite FP16 number, at most 65504 in magnitude"),
    ("FP16", False, "a finite FP16 number, at most 65504 in magnitude"),
    ("FP16", 65504, None),
    ("FP32", 1e39, "a finite FP32 number, at most 3.40282e+38 in magnitude"),
    ("FP32", -3.5e38, "a finite FP32 number, at most 3.40282e+38 in magnitude"),
    ("FP32", 3.4e38, None),
    ("FP64", "1.0", "a finite FP64 number, at most 1.79769e+308 in magnitude"),
    ("FP64", 1.7e308, None),
    ("BOOL", 1, "a BOOL (true or false)"),
    ("BOOL", "true", "a BOOL (true or false)"),
    ("BOOL", True, None),
    ("BYTES", 1, "a BYTES string"),
    ("BYTES", "ab", None),
]


@pytest.mark.parametrize(("datatype", "element", "rule"), ELEMENTS)
def test_each_element_is_held_to_its_datatypes_range(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    datatype: str,
    element: Any,
    rule: str | None,
):
    amdinfer.loaded.add("adder")
    models = json.dumps([repository_model("/srv/m.so", datatype=datatype)])
    tensor = {"name": "x", "shape": [1], "datatype": datatype, "data": [element]}
    params = {"payload": json.dumps({"inputs": [tensor]}), "model": "adder"}
    if rule is None:
        ctx.run(ctx.on.action("predict", params=params), state(amdinfer.port, models=models))
        assert amdinfer.posts() == ["/v2/models/adder/infer"]
    else:
        with pytest.raises(testing.ActionFailed) as failure:
            ctx.run(ctx.on.action("predict", params=params), state(amdinfer.port, models=models))
        assert failure.value.message == f"not sent: inputs[0]: every element must be {rule}"
        assert amdinfer.posts() == []
    assert amdinfer.crashes == []


def test_a_model_whose_metadata_says_string_gets_nothing(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer
):
    amdinfer.loaded.add("other")
    amdinfer.overrides["/v2/models/other"] = (200, {"inputs": [{"datatype": "STRING"}]})
    payload = json.dumps(
        {"inputs": [{"name": "x", "shape": [1], "datatype": "STRING", "data": ["a"]}]}
    )
    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(
            ctx.on.action("predict", params={"payload": payload, "model": "other"}),
            state(amdinfer.port),
        )
    assert failure.value.message == "not sent: the metadata of other names no input datatype"
    assert amdinfer.posts() == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"inputs": []}'),
        ("", b'{"inputs": []}'),
        ("application/json", b""),
        ("application/json", b'{"inputs": [NaN]}'),
        ("application/json", b"{"),
    ],
    ids=["text-plain", "empty-content-type", "empty-body", "nan", "invalid-json"],
)
def test_the_fake_crashes_where_the_real_server_does(
    amdinfer: FakeAmdinfer, content_type: str, body: bytes
):
    """What every test here asserts never happens is seen when it does."""
    request = urllib.request.Request(f"{amdinfer.base_url}/v2/models/echo/infer", data=body)
    request.add_header("Content-Type", content_type)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(request, timeout=5)
    assert [path for path, _ in amdinfer.crashes] == ["/v2/models/echo/infer"]


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_what_is_not_strict_json_is_never_posted(amdinfer: FakeAmdinfer, number: float):
    """The last guard, behind the bounded parsers: the body is strict JSON or nothing is sent."""
    client = ModelServerClient(amdinfer.base_url)
    with pytest.raises(RequestRefusedError, match="not valid JSON: Out of range float values"):
        api.post(client, "/v2/models/echo/infer", {"inputs": [number]})
    assert amdinfer.requests == []
