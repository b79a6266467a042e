"""Quantities as a real kube-apiserver stores them in a built-in object's resources.

Written from the behaviour of apimachinery's `resource.Quantity` (and checked
against a real kube-apiserver v1.37.2 by `tests/kube_api`), independently of the
charm's own validation, so that a mistake there is not mirrored here:

- parsing keeps the suffix's format (binary Ki…Ei, decimal m…E, or an
  exponent), rounds a non-zero value up to nano units, and clamps a binary
  quantity above the largest int64 to that int64 (`8Ei` → 9223372036854775807);
- defaulting a container's `resources` rounds every value up to milli units
  (`0.0001` → `1m`);
- the stored text is canonical: a binary quantity of whole bytes with the
  largest 1024 suffix that divides it (`1024Mi` → `1Gi`; below 1024, or not
  whole, it is written in decimal), a decimal one with the largest multiple-of-3
  suffix that keeps its digits whole (`0.5` → `500m`, `2000m` → `2`) — and,
  above E (10^18), none at all: `1000E` is stored as `1`;
- the server warns of fractional bytes when the value's milli-value is not a
  multiple of 1000, and computes that milli-value in int64: a quantity held
  as an int64 mantissa and power of ten (few digits) gives 0 when it
  overflows, one held as an arbitrary-precision decimal wraps around — so
  `7Ei`, a whole number of bytes, is warned about, and `10E` is not.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass

MAX_INT64 = 2**63 - 1
# Digits an int64 mantissa holds for certain (apimachinery's maxInt64Factors).
_INT64_DIGITS = 18
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?"
    r"(?:(?P<binary>[KMGTPE]i)|(?P<decimal>[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?"
)
_DECIMAL_POWERS = {
    **{"n": -9, "u": -6, "m": -3, "": 0},
    **{"k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18},
}
_DECIMAL_SUFFIXES = {power: suffix for suffix, power in _DECIMAL_POWERS.items()}
_BINARY_SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_CONTEXT = decimal.Context(prec=200, rounding=decimal.ROUND_UP)


@dataclass(frozen=True)
class Parsed:
    """A quantity as the server holds it once parsed and defaulted (rounded up to milli)."""

    value: decimal.Decimal
    form: str  # "binary", "decimal" or "exponent"
    # Held as an int64 mantissa and a power of ten, rather than an arbitrary decimal.
    int64_held: bool


def _int64_held(whole: str, fraction: str, form: str, power: int) -> bool:
    """Whether apimachinery's parser keeps this quantity as an int64 mantissa and scale."""
    if form == "binary":
        # Whole numbers only, with room for the binary power's ~0.3 digits per bit.
        return not fraction and 15 - len(whole) - (power * 3) // 10 - 1 >= 0
    return _INT64_DIGITS - len(whole) - len(fraction) >= 0 and power - len(fraction) >= -9


def parse(text: str) -> Parsed:
    """Parse and default `text` as the API server does for a container's resources."""
    match = _QUANTITY.fullmatch(text)
    if match is None or not (match["whole"] or match["fraction"]):
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    whole, fraction = match["whole"], match["fraction"] or ""
    number = decimal.Decimal(f"{whole or 0}.{fraction or 0}")
    if match["binary"]:
        power = 10 * _BINARY_SUFFIXES.index(match["binary"])
        value, form = _CONTEXT.multiply(number, decimal.Decimal(2) ** power), "binary"
    elif match["exponent"] is not None:
        power = int(match["exponent"])
        value, form = number.scaleb(power, _CONTEXT), "exponent"
    else:
        power = _DECIMAL_POWERS[match["decimal"] or ""]
        value, form = number.scaleb(power, _CONTEXT), "decimal"
    held = _int64_held(whole, fraction, form, power)
    value = value.quantize(decimal.Decimal("1e-9"), context=_CONTEXT)
    if form == "binary" and value > MAX_INT64:
        value = decimal.Decimal(MAX_INT64)
    if form == "binary" and 0 < value < 1:
        form = "decimal"
    value = value.quantize(decimal.Decimal("1e-3"), context=_CONTEXT)
    return Parsed(-value if match["sign"] == "-" else value, form, held)


def _decimal_text(value: decimal.Decimal, form: str) -> str:
    sign, digits, exponent = value.normalize(_CONTEXT).as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)))
    shift = exponent % 3  # down to a multiple of 3, keeping the mantissa whole
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    if form == "exponent":
        suffix = f"e{exponent}" if exponent else ""
    else:
        # The server writes no suffix where it has no letter for the power: 1000E is stored as 1.
        suffix = _DECIMAL_SUFFIXES.get(exponent, "")
    return f"{'-' if sign else ''}{mantissa}{suffix}"


def canonical(quantity: Parsed) -> str:
    """The text the API server writes for this quantity."""
    value, form = quantity.value, quantity.form
    if value == 0:
        return "0"
    if form == "binary" and (abs(value) < 1024 or value != value.to_integral_value()):
        form = "decimal"
    if form != "binary":
        return _decimal_text(value, form)
    whole, power = int(value), 0
    while whole % 1024 == 0 and power < len(_BINARY_SUFFIXES) - 1:
        whole, power = whole // 1024, power + 1
    return f"{whole}{_BINARY_SUFFIXES[power]}"


def stored(text: str) -> str:
    """What a container's `resources` holds after the API server stored `text`."""
    return canonical(parse(text))


def warns_of_fractional_bytes(text: str) -> bool:
    """Whether the server warns that this byte count is fractional (see the module docstring)."""
    quantity = parse(text)
    milli = int(quantity.value * 1000)
    if quantity.int64_held:
        milli = milli if -MAX_INT64 - 1 <= milli <= MAX_INT64 else 0
    else:
        milli = (milli + 2**63) % 2**64 - 2**63
    return milli % 1000 != 0
