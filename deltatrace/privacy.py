"""Privacy policies: keep, drop, pseudonymize, mask or coarsen fields of capture-format events.

Pure (no Django). A policy names fields three ways: a dotted event path (`payload.account`,
`keys.cl_ord_id`, `ts_ns`, `host`), or a FIX tag (`fix:1`), which applies to the tag inside `raw` and to
the payload/keys fields the FIX adapter derives from that tag (`FIX_TAG_FIELDS`). A policy is compiled
once into a small per-field plan because `apply_event` runs in the ingest hot path; events that touch
no planned field are returned as they are, without copying.

Pseudonyms are keyed HMAC-SHA256 of the value alone (not of the field), so one account maps to one
token everywhere: payload, keys and raw FIX. Tokens are recognised and left alone, so applying a
policy twice with the same key changes nothing (ingest-time and export-time application compose).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

from deltatrace.canonical import digest as _digest

POLICY_DIR = Path(__file__).resolve().parent / "policies"
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
    if not path.exists():
        if not create:
            raise PolicyError(f"key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
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


class Policy:
    """A compiled privacy policy. Build with `Policy.from_dict` or `Policy.load`."""

    def __init__(self, source: dict[str, Any], audience: str | None = None) -> None:
        self._source = source
        self.name: str = source["name"]
        self.version: int = source["version"]
        self.audience = audience
        self._digest: str | None = None
        rules: list[dict[str, Any]] = list(source.get("rules", []))
        if audience is not None:
            rules += source.get("audiences", {}).get(audience, {}).get("rules", [])
        self.rules = rules
        tag_fields = dict(FIX_TAG_FIELDS)
        for tag, paths in source.get("fix_fields", {}).items():
            tag_fields[int(tag)] = tuple(paths)
        self._compile(rules, tag_fields)

    # construction -----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Policy:
        if not isinstance(d, dict):
            raise PolicyError("a policy must be a JSON object")
        name, version = d.get("name"), d.get("version")
        if not isinstance(name, str) or not name:
            raise PolicyError("policy 'name' must be a non-empty string")
        if type(version) is not int or version < 1:
            raise PolicyError(f"policy {name!r}: 'version' must be an integer >= 1")
        if not isinstance(d.get("rules", []), list):
            raise PolicyError(f"policy {name!r}: 'rules' must be a list")
        audiences = d.get("audiences", {})
        unknown = sorted(set(audiences) - set(AUDIENCES)) if isinstance(audiences, dict) else ["?"]
        if unknown:
            raise PolicyError(f"policy {name!r}: unknown audience {unknown[0]!r}")
        fix_fields = d.get("fix_fields", {})
        if not isinstance(fix_fields, dict) or not all(
            str(tag).isdigit()
            and isinstance(paths, list)
            and all(isinstance(x, str) and x.split(".")[0] in ("payload", "keys") for x in paths)
            for tag, paths in fix_fields.items()
        ):
            raise PolicyError(
                f"policy {name!r}: 'fix_fields' maps tag numbers to lists of payload./keys. paths"
            )
        try:
            private = json.loads(json.dumps(d))  # a copy the caller cannot mutate
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"policy {name!r} is not plain JSON data: {exc}") from None
        policy = cls(private)
        for audience in audiences:
            policy.for_audience(audience)  # compile each audience now so errors surface at load
        return policy

    @classmethod
    def load(cls, path_or_name: str | Path) -> Policy:
        """A policy file path, or the name of a built-in policy in deltatrace/policies/."""
        text = str(path_or_name)
        path = Path(text)
        if not path.suffix and "/" not in text:
            path = POLICY_DIR / f"{text}.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            builtin = sorted(p.stem for p in POLICY_DIR.glob("*.json"))
            raise PolicyError(
                f"no policy {text!r} (not a file; built-in policies: {', '.join(builtin)})"
            ) from None
        except json.JSONDecodeError as exc:
            raise PolicyError(f"policy file {path}: invalid JSON ({exc})") from None
        return cls.from_dict(data)

    def for_audience(self, audience: str) -> Policy:
        """The effective policy for an export audience: the base rules, then the audience's."""
        if audience not in AUDIENCES:
            raise PolicyError(f"unknown audience {audience!r} (expected {', '.join(AUDIENCES)})")
        return Policy(self._source, audience)

    def _compile(self, rules: list[dict[str, Any]], tag_fields: dict[int, tuple[str, ...]]) -> None:
        top: dict[str, Op | None] = {}
        fix: dict[str, Op | None] = {}
        paths: dict[str, Op | None] = {}
        explicit: dict[str, Op | None] = {}
        for i, rule in enumerate(rules):
            field = rule.get("field") if isinstance(rule, dict) else None
            where = f"policy {self.name!r} rule {i + 1} ({field})"
            if not isinstance(field, str) or not field:
                raise PolicyError(f"{where}: 'field' must be a non-empty string")
            op = _compile_op(rule, where)
            if field.startswith("fix:"):
                if not field[4:].isdigit():
                    raise PolicyError(f"{where}: a FIX tag is written fix:<number>")
                fix[str(int(field[4:]))] = op
                for path in tag_fields.get(int(field[4:]), ()):
                    paths[path] = op
            elif field in _TOP_FIELDS:
                if rule["action"] not in _TOP_FIELDS[field]:
                    raise PolicyError(f"{where}: {rule['action']} is not allowed on {field}")
                if field == "hlc" and op is not None:
                    op = _hlc_wall(op)
                top[field] = op
            elif field.split(".", 1)[0] in ("payload", "keys", "header") and "." in field:
                explicit[field] = op
            else:
                raise PolicyError(
                    f"{where}: unknown field (use payload.<path>, keys.<name>, header.<path>, "
                    f"fix:<tag> or one of {', '.join(_TOP_FIELDS)})"
                )
        paths.update(explicit)  # a rule on an exact path wins over one derived from a FIX tag
        self._top = [(name, op) for name, op in top.items() if op is not None]
        self._fix = {tag: op for tag, op in fix.items() if op is not None}
        self._fix_needles = fix_needles(self._fix)
        if self._fix and "payload.fields" not in paths:
            # The FIX adapter keeps messages it does not map as payload.fields [[tag, value], ...].
            paths["payload.fields"] = _tag_pairs(self._fix)
        trees: dict[str, Tree] = {"payload": {}, "keys": {}, "header": {}}
        for path, op in paths.items():
            root, rest = path.split(".", 1)
            _tree_set(trees[root], rest.split("."), op)
        self._payload, self._keys, self._header = trees["payload"], trees["keys"], trees["header"]
        self._payload_any = "*" in self._payload
        self._keys_any = "*" in self._keys
        self._host_op = top.get("host")
        # apply_event's fast path: no top-level rule and no wildcard, so an event is untouched
        # unless its keys/payload share a name with the plan or it carries raw FIX to rewrite.
        self._fast = not self._top and not self._keys_any and not self._payload_any

    # identity ---------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """The effective policy as data (what the ledger records and the digest covers)."""
        d: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self._source.get("description", ""),
            "rules": self.rules,
        }
        if self.audience is not None:
            d["audience"] = self.audience
        elif "audiences" in self._source:
            d["audiences"] = self._source["audiences"]
        if "fix_fields" in self._source:
            d["fix_fields"] = self._source["fix_fields"]
        return d

    def digest(self) -> str:
        if self._digest is None:
            self._digest = "sha256:" + _digest(self.as_dict())
        return self._digest

    def identity(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "audience": self.audience,
            "digest": self.digest(),
        }

    # application ------------------------------------------------------------------------------
    def apply_event(self, event: dict[str, Any], key: bytes) -> dict[str, Any]:
        """The sanitized event; `event` is never mutated and is returned as is if nothing applies."""
        if self._fast and type(key) is bytes and key in _TOKENIZERS:  # seen before: valid
            sub = event.get("keys")
            if not sub or not self._keys or self._keys.keys().isdisjoint(sub):
                sub = event.get("payload")
                if (not sub or not self._payload or self._payload.keys().isdisjoint(sub)) and (
                    not self._fix or not event.get("raw")
                ):
                    return event
        out: dict[str, Any] | None = None
        tok = _tokenizer(key)
        for name, op in self._top:
            if name in event and event[name] is not None:
                if out is None:
                    out = dict(event)
                new = op(event[name], tok)
                if new is DROP:
                    del out[name]
                else:
                    out[name] = new
        for name, tree, any_key in (
            ("keys", self._keys, self._keys_any),
            ("payload", self._payload, self._payload_any),
        ):
            sub = event.get(name)
            if sub and tree and (any_key or not tree.keys().isdisjoint(sub)):
                new_sub = _walk(sub, tree, tok)
                if new_sub is not None:
                    if out is None:
                        out = dict(event)
                    out[name] = new_sub
        raw = (out or event).get("raw")
        if raw and self._fix:
            new_raw = rewrite_fix(raw, self._fix, tok, self._fix_needles)
            if new_raw is not raw:
                if out is None:
                    out = dict(event)
                out["raw"] = new_raw
        return event if out is None else out

    def apply_header(self, header: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
        """The sanitized capture header, stamped with this policy's identity in `meta.privacy`."""
        tok = _tokenizer(key) if key is not None else _no_key
        out = (_walk(header, self._header, tok) if self._header else None) or dict(header)
        if self._host_op is not None and out.get("host"):
            out["host"] = self._host_op(out["host"], tok)
        out["meta"] = {**out.get("meta", {}), "privacy": self.identity()}
        return out


class KeyedPolicy:
    """A policy bound to its pseudonymisation key: a callable on events that pickles, so ingest
    can apply it in a worker process (the policy is rebuilt there from its source)."""

    def __init__(self, policy: Policy, key: bytes) -> None:
        self.policy = policy
        self.key = key
        self._apply = policy.apply_event

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._apply(event, self.key)

    def __reduce__(self) -> tuple[Any, ...]:
        # The compiled policy holds closures; ship its source and rebuild it on the other side.
        return (_keyed_policy, (self.policy._source, self.policy.audience, self.key))


def _keyed_policy(source: dict[str, Any], audience: str | None, key: bytes) -> KeyedPolicy:
    return KeyedPolicy(Policy(source, audience), key)


# --- raw FIX ----------------------------------------------------------------------------------
SOH = "\x01"
# Length field -> the data field it measures; data fields may contain SOH.
_DATA_TAGS = {"90": "91", "93": "89", "95": "96", "212": "213", "354": "355"}
_LENGTH_OF = {data: length for length, data in _DATA_TAGS.items()}
_FRAME_TAGS = frozenset({"8", "9", "10"})


def _fix_fields(raw: str) -> list[tuple[str, str]] | None:
    """(tag, value) pairs of a FIX message; None when `raw` is not tag=value FIX."""
    pieces = raw.split(SOH)
    if pieces and pieces[-1] == "":
        pieces.pop()
    parts = [p.partition("=") for p in pieces]
    if _DATA_TAGS.keys().isdisjoint([tag for tag, _, _ in parts]):
        if not all(sep and tag.isdigit() for tag, sep, _ in parts):
            return None
        return [(tag, value) for tag, _, value in parts]
    # Slow path: a data field (e.g. EncodedText) may contain SOH; glue it back by its length.
    fields: list[tuple[str, str]] = []
    pending: dict[str, int] = {}
    i = 0
    while i < len(pieces):
        tag, sep, value = pieces[i].partition("=")
        if not sep or not tag.isdigit():
            return None
        want = pending.pop(tag, None)
        while want is not None and len(value) < want and i + 1 < len(pieces):
            i += 1
            value += SOH + pieces[i]
        if tag in _DATA_TAGS and value.isdigit():
            pending[_DATA_TAGS[tag]] = int(value)
        fields.append((tag, value))
        i += 1
    return fields


def _encoding(raw: str) -> str:
    """The byte encoding under which the original BodyLength(9) holds (UTF-8 by default).

    Adapters decode FIX bytes as UTF-8 or Latin-1; with any non-ASCII character the two give
    different byte lengths, so the declared body length tells them apart.
    """
    if raw.isascii():
        return "ascii"
    for enc in ("utf-8", "latin-1"):
        try:
            data = raw.encode(enc)
        except UnicodeEncodeError:
            continue
        start = data.find(b"\x019=")
        body = data.find(b"\x01", start + 1) + 1
        trailer = data.rfind(b"\x0110=") + 1
        if 0 <= start < body <= trailer and data[start + 3 : body - 1] == b"%d" % (trailer - body):
            return enc
    return "utf-8"


def fix_frame(fields: list[tuple[str, str]], encoding: str = "utf-8") -> str:
    """Serialise FIX fields with BodyLength(9) and CheckSum(10) recomputed."""
    begin = next((v for t, v in fields if t == "8"), None)
    body = "".join([f"{t}={v}{SOH}" for t, v in fields if t not in _FRAME_TAGS])
    if begin is not None:
        size = len(body) if encoding == "ascii" else len(body.encode(encoding, "surrogateescape"))
        body = f"8={begin}{SOH}9={size}{SOH}{body}"
    checksum = sum(body.encode(encoding, "surrogateescape")) % 256
    return f"{body}10={checksum:03d}{SOH}"


def fix_needles(plan: dict[str, Op]) -> tuple[str, ...]:
    return tuple(f"{SOH}{tag}=" for tag in plan)


def rewrite_fix(
    raw: str, plan: dict[str, Op], tok: Tokenizer, needles: tuple[str, ...] | None = None
) -> str:
    """`raw` with the planned tags rewritten; the same object when no planned tag occurs."""
    if not any(needle in raw for needle in needles or fix_needles(plan)):
        return raw  # the common case for messages without party fields: no parse at all
    fields = _fix_fields(raw)
    if fields is None:
        return raw
    out: list[tuple[str, str]] = []
    dropped: set[str] = set()
    touched: set[str] = set()
    for tag, value in fields:
        op = plan.get(tag)
        if op is None:
            out.append((tag, value))
            continue
        touched.add(tag)
        new = op(value, tok)
        if new is DROP:
            dropped.add(tag)
        else:
            out.append((tag, str(new)))
    if not touched:
        return raw
    out = _fix_lengths(out, dropped, touched)
    return fix_frame(out, _encoding(raw))


def _fix_lengths(
    fields: list[tuple[str, str]], dropped: set[str], touched: set[str]
) -> list[tuple[str, str]]:
    """Keep each data field's length field true: drop it with its data, or restate the length."""
    values = dict(fields)
    out = []
    for tag, value in fields:
        data = _DATA_TAGS.get(tag)
        if data is not None and data in touched:
            if data in dropped:
                continue
            value = str(len(values[data]))
        if tag in _LENGTH_OF and _LENGTH_OF[tag] in dropped:
            continue
        out.append((tag, value))
    return out


_TOKENIZERS: dict[bytes, Tokenizer] = {}


def _tokenizer(key: bytes) -> Tokenizer:
    tok = _TOKENIZERS.get(key)
    if tok is None:
        if not isinstance(key, bytes | bytearray) or len(key) < 16:
            raise PolicyError("the pseudonymisation key must be at least 16 bytes")
        if len(_TOKENIZERS) > 16:
            _TOKENIZERS.clear()
        tok = _TOKENIZERS[bytes(key)] = make_tokenizer(bytes(key))
    return tok


def _no_key(value: Any) -> str:
    raise PolicyError("this policy pseudonymizes header fields: pass the key to apply_header")
