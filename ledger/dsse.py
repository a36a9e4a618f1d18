"""DSSE envelopes (secure-systems-lab/dsse v1) signed with Ed25519, and in-toto Statement v1. Pure.

The signature covers PAE(payloadType, payload) =
``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` (lengths as ASCII decimal byte counts).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deltatrace.canonical import strict_jcs

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


class DsseError(ValueError):
    """A malformed envelope or a signature that does not verify."""


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign_envelope(
    payload: bytes, payload_type: str, private_key: Ed25519PrivateKey, keyid: str = ""
) -> dict[str, Any]:
    sig = private_key.sign(pae(payload_type, payload))
    return {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": payload_type,
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}],
    }


def verify_envelope(envelope: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> bytes:
    """Return the payload if a signature verifies with one of ``keys`` (by keyid); else raise.

    A signature with an empty keyid is tried against every key.
    """
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        payload_type = envelope["payloadType"]
        sigs = envelope["signatures"]
    except (KeyError, TypeError, binascii.Error) as exc:
        raise DsseError(f"malformed DSSE envelope: {exc}") from exc
    if type(payload_type) is not str or type(sigs) is not list or not sigs:
        raise DsseError("malformed DSSE envelope: payloadType or signatures")
    message = pae(payload_type, payload)
    for s in sigs:
        try:
            sig = base64.b64decode(s["sig"], validate=True)
            kid = s.get("keyid", "")
        except (KeyError, TypeError, AttributeError, binascii.Error):
            continue
        for key in [keys[kid]] if kid in keys else (list(keys.values()) if not kid else []):
            try:
                key.verify(sig, message)
                return payload
            except InvalidSignature:
                continue
    raise DsseError("no valid signature by a known key")


def statement(
    subjects: dict[str, str], predicate_type: str, predicate: dict[str, Any]
) -> dict[str, Any]:
    """An in-toto Statement v1 over ``{name: sha256 hex}`` subjects (sorted by name)."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(subjects.items())],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def sign_statement(
    stmt: dict[str, Any], private_key: Ed25519PrivateKey, keyid: str = ""
) -> dict[str, Any]:
    return sign_envelope(strict_jcs(stmt), IN_TOTO_PAYLOAD_TYPE, private_key, keyid)
