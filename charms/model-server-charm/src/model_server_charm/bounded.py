"""Bounds on what the charm reads from outside and what it hands to Juju.

JSON comes from operators (the `predict` payload), from model servers (their
answers) and from related applications (relation data). A plain `json.loads`
crashes on some of it: an integer of 5,000 digits exceeds Python's conversion
limit (ValueError) and 100,000 nested lists exhaust the stack
(RecursionError); it also reads `NaN`, `Infinity` and `1e999`, which no JSON
parser of a model server accepts (amdinfer-server crashes on them).
`parse_json` refuses those, and oversized input, with one exception type and a
message that says which limit was hit.

YAML (the proteus `models` option) has the same traps and more: 500 nested
lists exhaust PyYAML's recursive composer, and a few hundred bytes of anchors
and aliases expand into gigabytes. `parse_yaml` holds it to the same limits,
refuses anchors, aliases and tags (a list of models needs none), and turns
every fault of PyYAML's constructors (an impossible date, `0b_`) into the
same exception.

Juju passes every status message, action result and action failure message to
its hook tools (`status-set`, `action-set`, `action-fail`) as a process
argument, and Linux refuses any single argument over 128 KiB (MAX_ARG_STRLEN).
`shorten` cuts text to a limit and says how long it was.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import ops
import yaml

# Limits on single arguments of Juju's hook tools. Linux allows 128 KiB per
# argument and about 2 MiB for all of them together (ARG_MAX with the default
# stack): the largest here, the `response` result, is half of one argument, so
# its key (`response=`) and every other result of the same `action-set` fit.
# A status is read in `juju status`: 8 KiB holds every invalid option's problem
# at once (each quotes at most QUOTED_VALUE_BYTES of its value).
STATUS_MESSAGE_BYTES = 8 * 1024
# An action failure quotes at most QUOTED_ANSWER_BYTES of the server's answer.
ACTION_MESSAGE_BYTES = 8 * 1024
# The `response` result: a small batch's whole answer; larger ones belong in an HTTP client.
ACTION_RESULT_BYTES = 64 * 1024
# How much of a server's answer a failure message quotes, and of an option's value a problem.
QUOTED_ANSWER_BYTES = 2 * 1024
QUOTED_VALUE_BYTES = 100
# The most of a server's answer the charm reads: the largest JSON it parses, and one
# byte more, so an answer over the limit is refused rather than parsed cut.
MAX_ANSWER_BYTES = 1024 * 1024 + 1

# JSON strings (skipped: brackets inside them do not nest) and the brackets that nest.
# A string runs to its closing quote or, unterminated, to the end of the text:
# it always matches from its opening quote, so the scan never backtracks and
# never restarts inside a string (which would take quadratic time).
_JSON_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class JSONInputError(ValueError):
    """JSON (or YAML) that is malformed or beyond its limits; the message says which."""


@dataclass(frozen=True)
class JSONLimits:
    """How large a JSON (or YAML) document may be before it is parsed at all."""

    max_bytes: int
    # Inference requests and answers nest a few levels (a batch of rank-4 image
    # tensors is 6 deep); Python's parser recurses once per level.
    max_depth: int = 64
    # Every int64 and uint64 fits in 20 digits; Python refuses over 4,300.
    max_integer_digits: int = 64


def parse_json(text: str, limits: JSONLimits, what: str) -> Any:
    """Parse `text` within `limits`; `what` names the document in error messages."""
    _check_size(text, limits, what)
    if _nests_deeper(text, limits.max_depth):
        raise JSONInputError(f"{what} nests deeper than {limits.max_depth} levels")

    def bounded_int(digits: str) -> int:
        return int(_bounded_digits(digits, limits, what))

    def finite_float(number: str) -> float:
        return _finite(float(number), number, what)

    def refused_constant(name: str) -> float:
        return _finite(float(name), name, what)

    try:
        return json.loads(
            text, parse_int=bounded_int, parse_float=finite_float, parse_constant=refused_constant
        )
    except json.JSONDecodeError as error:
        raise JSONInputError(f"{what} is not valid JSON: {error}") from error


def parse_yaml(text: str, limits: JSONLimits, what: str) -> Any:
    """Parse YAML (or JSON) `text` within `limits`, without anchors, aliases or tags."""
    _check_size(text, limits, what)
    loader = _BoundedYAMLLoader(text, limits, what)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        # Not str(error): it quotes the document's lines, which may hold secrets.
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = error.problem or error.context or "malformed"
        raise JSONInputError(f"{what} is not YAML or JSON: {problem}{where}") from error
    except JSONInputError:
        raise
    except (yaml.YAMLError, ValueError) as error:
        # PyYAML's constructors raise ValueError on values its resolver let through
        # (a 13th month, `0b_`).
        raise JSONInputError(f"{what} has a value YAML cannot read: {error}") from error
    finally:
        loader.dispose()


class _BoundedYAMLLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors, aliases and tags, deep nesting, long integers.

    The composer recurses once per level of nesting: the depth is checked
    before each collection is composed, so it never recurses past the limit.
    """

    def __init__(self, text: str, limits: JSONLimits, what: str):
        super().__init__(text)
        self.limits = limits
        self.what = what
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """One node, refused if it is an alias, anchored, tagged or one level too deep."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise JSONInputError(
                f"{self.what} uses YAML anchors or aliases (& or *): write each value out"
            )
        if getattr(event, "tag", None) is not None:
            raise JSONInputError(f"{self.what} uses a YAML tag (!): write plain values")
        nests = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if nests and self.depth >= self.limits.max_depth:
            raise JSONInputError(f"{self.what} nests deeper than {self.limits.max_depth} levels")
        self.depth += nests
        node = super().compose_node(parent, index)
        self.depth -= nests
        return node

    def construct_bounded_int(self, node: yaml.ScalarNode) -> int:
        """An integer of at most `max_integer_digits` characters."""
        _bounded_digits(str(node.value).replace("_", ""), self.limits, self.what)
        return super().construct_yaml_int(node)

    def construct_finite_float(self, node: yaml.ScalarNode) -> float:
        """A float, refused when it is `.nan`, `.inf` or too large to be finite."""
        return _finite(super().construct_yaml_float(node), str(node.value), self.what)


_BoundedYAMLLoader.add_constructor(
    "tag:yaml.org,2002:int", _BoundedYAMLLoader.construct_bounded_int
)
_BoundedYAMLLoader.add_constructor(
    "tag:yaml.org,2002:float", _BoundedYAMLLoader.construct_finite_float
)


def _check_size(text: str, limits: JSONLimits, what: str) -> None:
    size = len(text.encode())
    if size > limits.max_bytes:
        raise JSONInputError(f"{what} is {size} bytes, over the {limits.max_bytes}-byte limit")


def _bounded_digits(digits: str, limits: JSONLimits, what: str) -> str:
    count = len(digits.lstrip("+-"))
    if count > limits.max_integer_digits:
        raise JSONInputError(
            f"{what} has an integer of {count} digits, over the"
            f" {limits.max_integer_digits}-digit limit"
        )
    return digits


def _finite(number: float, written: str, what: str) -> float:
    if not math.isfinite(number):
        raise JSONInputError(
            f"{what} has the number {quote(written)}, which is not finite: model servers"
            " refuse NaN and infinity (JSON has neither)"
        )
    return number


def _nests_deeper(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than `max_depth`, counted without recursion."""
    depth = 0
    for token in _JSON_STRING_OR_BRACKET.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif bracket in "]}":
            depth -= 1
    return False


def _cut(text: str, limit: int) -> str:
    """The longest start of `text` that fits in `limit` bytes of UTF-8."""
    return text.encode()[: max(limit, 0)].decode(errors="ignore")


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` bytes, else its start and its full size."""
    size = len(text.encode())
    if size <= limit:
        return text
    marker = f"… [truncated: {size} bytes in all]"
    return _cut(text, limit - len(marker.encode())) + marker


def quote(value: str, limit: int = QUOTED_VALUE_BYTES) -> str:
    """`value` as repr quotes it, with at most `limit` bytes of it and its full size."""
    size = len(value.encode())
    if size <= limit:
        return repr(value)
    return f"{_cut(value, limit)!r}… [truncated: {size} bytes in all]"


def status(given: ops.StatusBase) -> ops.StatusBase:
    """The same status with its message fitting in one `status-set` argument."""
    message = shorten(given.message, STATUS_MESSAGE_BYTES)
    if message == given.message:
        return given
    return ops.StatusBase.from_name(given.name, message)
