"""Governance rules, pure (no Django): trigger content and digest, approval statements, quorum.

A trigger's content is a strict RFC 8785 object; its SHA-256 (hex) is what approvers sign, inside an
approval statement ``{trigger_digest, decision, key_id, tree_size, root_hash, time}`` of strings and
integers only (``time`` in integer milliseconds), so a browser's small JCS serializer produces the
same bytes as the server's ``strict_jcs``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deltatrace.canonical import strict_jcs

KILL_SWITCH = "kill_switch"
RISK_LIMIT = "risk_limit"
STRATEGY = "strategy"
SIGN_OFF = "incident_signoff"
KINDS = (KILL_SWITCH, RISK_LIMIT, STRATEGY, SIGN_OFF)
KIND_LABELS = {
    KILL_SWITCH: "Kill switch",
    RISK_LIMIT: "Risk-limit change",
    STRATEGY: "Strategy enable/disable",
    SIGN_OFF: "Incident sign-off",
}
KILL_SCOPES = ("venue", "strategy", "symbol")
# Risk limits of adapters.exchange.types.RiskLimits a trigger may change, and their value types.
LIMITS: dict[str, type] = {
    "max_qty": int,
    "max_notional": Decimal,
    "collar_bps": Decimal,
    "position_limit": int,
    "rate_limit": int,
    "rate_window_ns": int,
}
APPROVE, REJECT = "approve", "reject"
DECISIONS = (APPROVE, REJECT)
STATEMENT_FIELDS = ("decision", "key_id", "root_hash", "time", "tree_size", "trigger_digest")
MAX_SAFE_INT = 2**53 - 1
CLOCK_SKEW_MS = 5 * 60 * 1000  # how far a statement's time may run ahead of the server's clock

PENDING, EXECUTED, REJECTED, EXPIRED = "pending", "executed", "rejected", "expired"
# Seeded policies (migration 0002 has a frozen copy): 2 approvers, four-eyes, expiry, action.
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    KILL_SWITCH: {"required": 2, "expiry_seconds": 15 * 60, "action": "engage_kill_switch"},
    RISK_LIMIT: {"required": 2, "expiry_seconds": 24 * 3600, "action": "set_risk_limit"},
    STRATEGY: {"required": 2, "expiry_seconds": 24 * 3600, "action": "toggle_strategy"},
    SIGN_OFF: {"required": 2, "expiry_seconds": 24 * 3600, "action": "close_incident"},
}


class RuleError(ValueError):
    """A governance rule says no; the message is what the user sees."""


# --- trigger content ------------------------------------------------------------------------------


def _text(params: dict[str, Any], name: str, max_len: int = 100) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise RuleError(f"'{name}' must be a non-empty string of at most {max_len} characters")
    return value.strip()


def _limit_value(name: str, raw: Any) -> str | None:
    """A limit value as a canonical decimal string (content stays float-free); None switches off."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "off", "none")):
        return None
    if isinstance(raw, bool | float):
        raise RuleError(f"limit {name}: give the value as a decimal string or integer, not {raw!r}")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise RuleError(f"limit {name}: {raw!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise RuleError(f"limit {name}: must be a non-negative number, got {raw!r}")
    if LIMITS[name] is int:
        if value != value.to_integral_value():
            raise RuleError(f"limit {name}: must be a whole number, got {raw!r}")
        return str(int(value))
    return str(value.normalize()) if value else "0"


def normalize_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate a trigger's parameters for its kind and return them in canonical form."""
    if kind not in KINDS:
        raise RuleError(f"unknown trigger kind {kind!r}; one of {', '.join(KINDS)}")
    if not isinstance(params, dict):
        raise RuleError("params must be an object")
    if kind == KILL_SWITCH:
        scope = params.get("scope")
        if scope not in KILL_SCOPES:
            raise RuleError(f"kill switch scope must be one of {', '.join(KILL_SCOPES)}")
        action = params.get("action", "engage")
        if action not in ("engage", "release"):
            raise RuleError("kill switch action must be 'engage' or 'release'")
        return {"scope": scope, "value": _text(params, "value"), "action": action}
    if kind == RISK_LIMIT:
        name = params.get("limit")
        if name not in LIMITS:
            raise RuleError(f"limit must be one of {', '.join(LIMITS)}")
        return {"limit": name, "value": _limit_value(name, params.get("value"))}
    if kind == STRATEGY:
        action = params.get("action")
        if action not in ("enable", "disable"):
            raise RuleError("strategy action must be 'enable' or 'disable'")
        return {"strategy": _text(params, "strategy"), "action": action}
    return {}  # incident sign-off: the incident itself is the subject


def trigger_content(
    *,
    kind: str,
    params: dict[str, Any],
    reason: str,
    incident: str | None,
    evidence: list[str],
    proposer: str,
    created_ms: int,
    expires_ms: int,
    nonce: str,
) -> dict[str, Any]:
    """The canonical content approvers sign (via its digest). ``nonce`` keeps digests unique."""
    if not isinstance(reason, str) or not reason.strip():
        raise RuleError("a reason is required")
    if kind == SIGN_OFF and not incident:
        raise RuleError("an incident sign-off needs the incident")
    if not all(isinstance(e, str) and e for e in evidence):
        raise RuleError("evidence must be a list of event refs 'capture_id:seq'")
    return {
        "kind": kind,
        "params": normalize_params(kind, params),
        "reason": reason.strip(),
        "incident": incident or "",
        "evidence": sorted(set(evidence)),
        "proposer": proposer,
        "created": created_ms,
        "expires": expires_ms,
        "nonce": nonce,
    }


def canonical(value: Any) -> bytes:
    try:
        return strict_jcs(value)
    except Exception as exc:  # rfc8785 raises its own types for floats out of range, big ints
        raise RuleError(f"not strict RFC 8785 JSON: {exc}") from exc


def content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


# --- approval statements --------------------------------------------------------------------------


def key_id(public_key: bytes) -> str:
    """An approver key's id: the first 8 bytes of SHA-256 of the raw public key, hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise RuleError(f"an Ed25519 public key is 32 raw bytes, got {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise RuleError(f"not an Ed25519 public key: {exc}") from exc


def statement(
    trigger_digest: str, decision: str, key: str, tree_size: int, root_hash: str, time_ms: int
) -> dict[str, Any]:
    return {
        "trigger_digest": trigger_digest,
        "decision": decision,
        "key_id": key,
        "tree_size": tree_size,
        "root_hash": root_hash,
        "time": time_ms,
    }


def parse_statement(raw: str | dict[str, Any]) -> dict[str, Any]:
    """Check a statement's shape (strings and safe integers only); return it as a dict."""
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RuleError(f"statement is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise RuleError("statement must be a JSON object")
    if sorted(raw) != sorted(STATEMENT_FIELDS):
        raise RuleError(f"statement must have exactly the fields {', '.join(STATEMENT_FIELDS)}")
    for name in ("trigger_digest", "decision", "key_id", "root_hash"):
        if not isinstance(raw[name], str):
            raise RuleError(f"statement {name} must be a string")
    for name in ("tree_size", "time"):
        v = raw[name]
        if type(v) is not int or not 0 <= v <= MAX_SAFE_INT:
            raise RuleError(f"statement {name} must be a non-negative integer below 2^53")
    if raw["decision"] not in DECISIONS:
        raise RuleError("statement decision must be 'approve' or 'reject'")
    if len(raw["trigger_digest"]) != 64 or len(raw["root_hash"]) != 64:
        raise RuleError("trigger_digest and root_hash must be 64 hex characters")
    try:
        bytes.fromhex(raw["trigger_digest"] + raw["root_hash"])
    except ValueError as exc:
        raise RuleError("trigger_digest and root_hash must be hex") from exc
    return raw


def statement_digest(stmt: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(stmt)).hexdigest()


def verify_signature(public_key: bytes, signature: bytes, stmt: dict[str, Any]) -> None:
    """Raise RuleError unless ``signature`` is the key's Ed25519 signature of the statement's JCS."""
    try:
        load_public_key(public_key).verify(signature, canonical(stmt))
    except InvalidSignature as exc:
        raise RuleError(
            f"signature does not verify with key {stmt['key_id']} over the statement's "
            "canonical bytes (wrong key, or the statement was altered)"
        ) from exc


# --- policy evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRule:
    required: int  # m
    four_eyes: bool
    expiry_ms: int


@dataclass(frozen=True)
class Vote:
    user: str
    decision: str


@dataclass(frozen=True)
class Tally:
    status: str
    approvals: int  # distinct counting approvers
    rejections: int
    required: int
    eligible: int  # n: approvers of the group who may count

    @property
    def quorum(self) -> bool:
        return self.approvals >= self.required


def tally(
    rule: PolicyRule,
    votes: list[Vote],
    proposer: str,
    approvers: set[str],
    now_ms: int,
    expires_ms: int,
) -> Tally:
    """m-of-n: executed once m distinct approvers (never the proposer under four-eyes) approve;
    rejected once rejections leave fewer than m who could still approve (a group still smaller
    than m waits for members); expired after expiry."""
    eligible = {u for u in approvers if not (rule.four_eyes and u == proposer)}
    counted = {v.user: v.decision for v in votes if v.user in eligible}
    yes = sum(1 for d in counted.values() if d == APPROVE)
    no = sum(1 for d in counted.values() if d == REJECT)
    if yes >= rule.required:
        status = EXECUTED
    elif no and len(eligible) - no < rule.required:
        status = REJECTED
    elif now_ms >= expires_ms:
        status = EXPIRED
    else:
        status = PENDING
    return Tally(status, yes, no, rule.required, len(eligible))


def check_statement_time(time_ms: int, created_ms: int, expires_ms: int, now_ms: int) -> None:
    if now_ms >= expires_ms:
        raise RuleError(f"the trigger expired at {iso_ms(expires_ms)}; propose it again")
    if time_ms > now_ms + CLOCK_SKEW_MS:
        raise RuleError("the statement's time is in the future; check the signer's clock")
    if time_ms < created_ms - CLOCK_SKEW_MS or time_ms >= expires_ms:
        raise RuleError("the statement's time is outside the trigger's lifetime")


def iso_ms(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
