"""Privacy rules: what a policy can do to a field, and the pseudonymisation key and tokens.

The vocabulary `Policy` (deltatrace/privacy/policy.py) compiles a policy's rules into: field names,
actions and their ops, and the path tree an event is walked along.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

from deltatrace.secretfile import read_or_create

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
ACTIONS = ("keep", "drop", "pseudonymize", "mask", "coarsen")
AUDIENCES = ("regulator", "internal", "public")
TOKEN_PREFIX = "pn_"
TOKEN_HEX = 20  # 80 bits: collisions are negligible at any realistic number of distinct values
_TOKEN_LEN = len(TOKEN_PREFIX) + TOKEN_HEX
_HEX = frozenset("0123456789abcdef")
UNITS_NS = {"us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
# Top-level event fields a rule may name, with the actions that keep an event valid.
_TOP_FIELDS = {
    "ts_ns": {"keep", "coarsen"},
    "recv_ts_ns": {"keep", "drop", "coarsen"},
    "hlc": {"keep", "coarsen"},
    "host": {"keep", "pseudonymize", "mask"},
    "lane": {"keep", "pseudonymize", "mask"},
    "raw": {"keep", "drop"},
}
# Where the FIX adapter puts the value of a tag besides `raw` (docs/capture-format.md conventions).
FIX_TAG_FIELDS: dict[int, tuple[str, ...]] = {
    1: ("payload.account",),
    6: ("payload.avg_px",),
    11: ("keys.cl_ord_id",),
    14: ("payload.cum_qty",),
    17: ("keys.exec_id",),
    31: ("payload.last_px",),
    32: ("payload.last_qty",),
    37: ("keys.order_id",),
    38: ("payload.qty", "payload.order_qty"),
    41: ("keys.orig_cl_ord_id",),
    44: ("payload.price",),
    49: ("payload.sender_comp_id",),
    50: ("payload.sender_sub_id",),
    52: ("payload.sending_time",),
    55: ("keys.symbol",),
    56: ("payload.target_comp_id",),
    57: ("payload.target_sub_id",),
    58: ("payload.text",),
    60: ("payload.transact_time", "payload.transact_ts_ns"),
    109: ("payload.client_id",),
    115: ("payload.on_behalf_of_comp_id",),
    116: ("payload.on_behalf_of_sub_id",),
    128: ("payload.deliver_to_comp_id",),
    129: ("payload.deliver_to_sub_id",),
    143: ("payload.target_location_id",),
    144: ("payload.on_behalf_of_location_id",),
    151: ("payload.leaves_qty",),
    354: ("payload.encoded_text_len",),
    355: ("payload.encoded_text",),
    448: ("payload.party_id", "payload.parties.party_id"),
    452: ("payload.party_role", "payload.parties.party_role"),
}

DROP: Any = object()  # an op's result meaning "remove this field"
Tokenizer = Callable[[Any], str]
Op = Callable[[Any, Tokenizer], Any]


class PolicyError(ValueError):
    """A policy that cannot be loaded or compiled; the message says which rule and why."""


# --- key and tokens -------------------------------------------------------------------------------
def load_key(path: Path | str, create: bool = True) -> bytes:
    """The pseudonymisation key: hex text in `path`, generated there (mode 0600) if missing."""
    path = Path(path)
    if not create and not path.exists():
        raise PolicyError(f"key file {path} does not exist")
    text = read_or_create(path, lambda: secrets.token_hex(32) + "\n").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise PolicyError(f"key file {path} must hold the key as hex text") from None
    if len(key) < 16:
        raise PolicyError(f"key file {path} holds {len(key)} bytes; at least 16 are needed")
    return key


def is_token(value: str) -> bool:
    return (
        len(value) == _TOKEN_LEN
        and value.startswith(TOKEN_PREFIX)
        and _HEX.issuperset(value[len(TOKEN_PREFIX) :])
    )


def make_tokenizer(key: bytes) -> Tokenizer:
    """value -> stable token; cached because the same accounts and ids recur on every event."""
    base = hmac.new(key, digestmod=hashlib.sha256)
    cache: dict[str, str] = {}

    def token(value: Any) -> str:
        text = value if type(value) is str else str(value)
        found = cache.get(text)
        if found is None:
            if is_token(text):
                found = text
            else:
                mac = base.copy()
                mac.update(text.encode("utf-8", "surrogatepass"))
                found = TOKEN_PREFIX + mac.hexdigest()[:TOKEN_HEX]
            if len(cache) >= 100_000:
                cache.clear()
            cache[text] = found
        return found

    return token


# --- actions ----------------------------------------------------------------------------------
def _on_leaves(fn: Callable[[Any, Tokenizer], Any]) -> Op:
    """Apply a scalar op through lists and objects (a rule on `payload.parties` covers its items)."""

    def op(value: Any, tok: Tokenizer) -> Any:
        if value is None:
            return None
        if type(value) is list:
            return [op(v, tok) for v in value]
        if type(value) is dict:
            return {k: op(v, tok) for k, v in value.items()}
        return fn(value, tok)

    return op


def _coarsen_time(value: Any, unit_ns: int) -> Any:
    if type(value) is int:
        return value - value % unit_ns
    if type(value) is str and len(value) > 18 and value[8] == "-" and value[17] == ".":
        # FIX UTCTimestamp YYYYMMDD-HH:MM:SS.fff[fff[fff]]: truncate the fraction.
        digits = {1_000: 6, 1_000_000: 3, 1_000_000_000: 0}[unit_ns]
        return value[:17] + ("." + value[18 : 18 + digits] if digits else "")
    return value


def _coarsen_bucket(value: Any, bucket: Decimal) -> Any:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    floored = (number / bucket).to_integral_value(rounding=ROUND_FLOOR) * bucket
    if type(value) is int:
        return int(floored)
    if type(value) is float:
        return float(floored)
    # _compile_op admits only finite buckets, whose exponent is an int (not "n"/"N"/"F").
    exponent = cast(int, bucket.as_tuple().exponent)
    return str(floored.quantize(bucket) if exponent < 0 else int(floored))


def _compile_op(rule: dict[str, Any], where: str) -> Op | None:
    """The op of one rule (None for keep). Raises PolicyError naming the rule."""
    action = rule.get("action")
    if action == "keep":
        return None
    if action == "drop":
        return lambda value, tok: DROP
    if action == "pseudonymize":
        return _on_leaves(lambda value, tok: tok(value))
    if action == "mask":
        keep = rule.get("keep_last", 4)
        char = rule.get("char", "*")
        if type(keep) is not int or keep < 0 or type(char) is not str or len(char) != 1:
            raise PolicyError(f"{where}: mask needs keep_last >= 0 and a one-character char")

        def mask(value: Any, tok: Tokenizer) -> str:
            text = str(value)
            cut = max(len(text) - keep, 0)
            return char * cut + text[cut:]

        return _on_leaves(mask)
    if action == "coarsen":
        if "unit" in rule:
            unit_ns = UNITS_NS.get(rule["unit"])
            if unit_ns is None:
                raise PolicyError(f"{where}: coarsen unit must be one of {sorted(UNITS_NS)}")
            return _on_leaves(lambda value, tok: _coarsen_time(value, unit_ns))
        try:
            bucket = Decimal(str(rule["bucket"]))
        except (KeyError, InvalidOperation):
            raise PolicyError(f"{where}: coarsen needs a unit (us/ms/s) or a bucket") from None
        if not bucket.is_finite() or bucket <= 0:
            raise PolicyError(f"{where}: coarsen bucket must be a positive number")
        return _on_leaves(lambda value, tok: _coarsen_bucket(value, bucket))
    raise PolicyError(f"{where}: unknown action {action!r} (expected one of {', '.join(ACTIONS)})")


def _hlc_wall(op: Op) -> Op:
    """An HLC stamp is [wall ns, counter]: only the wall part is coarsened."""

    def hlc(value: Any, tok: Tokenizer) -> Any:
        if type(value) is list and len(value) == 2:
            return [op(value[0], tok), value[1]]
        return value

    return hlc


def _tag_pairs(plan: dict[str, Op]) -> Op:
    """Apply FIX tag rules to a list of [tag, value] pairs."""

    def pairs(value: Any, tok: Tokenizer) -> Any:
        if type(value) is not list:
            return value
        out = []
        for item in value:
            op = plan.get(str(item[0])) if type(item) is list and len(item) == 2 else None
            if op is None:
                out.append(item)
            elif (new := op(item[1], tok)) is not DROP:
                out.append([item[0], new])
        return out

    return pairs


# --- plan -------------------------------------------------------------------------------------
# A path tree: segment -> (op for this exact path or None, children). "*" matches any key.
Tree = dict[str, tuple[Op | None, "Tree"]]


def _tree_set(tree: Tree, parts: list[str], op: Op | None) -> None:
    head, rest = parts[0], parts[1:]
    here_op, children = tree.get(head, (None, {}))
    if rest:
        _tree_set(children, rest, op)
        tree[head] = (here_op, children)
    else:
        tree[head] = (op, children)


def _walk(obj: dict[str, Any], tree: Tree, tok: Tokenizer) -> dict[str, Any] | None:
    """A rewritten copy of `obj`, or None when no planned path occurs in it."""
    out: dict[str, Any] | None = None
    star = tree.get("*")
    for name, value in obj.items():
        node = tree.get(name, star)
        if node is None:
            continue
        op, children = node
        new = value
        if op is not None:
            new = op(value, tok)
        elif children:
            new = _walk_value(value, children, tok)
        if new is not value:
            if out is None:
                out = dict(obj)
            if new is DROP:
                del out[name]
            else:
                out[name] = new
    return out


def _walk_value(value: Any, children: Tree, tok: Tokenizer) -> Any:
    if type(value) is dict:
        new = _walk(value, children, tok)
        return value if new is None else new
    if type(value) is list:
        items = [_walk_value(v, children, tok) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
