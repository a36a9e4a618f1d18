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

from deltatrace.privacy.policy import KeyedPolicy, Policy
from deltatrace.privacy.rules import (
    ACTIONS,
    AUDIENCES,
    FIX_TAG_FIELDS,
    POLICY_DIR,
    PolicyError,
    is_token,
    load_key,
    make_tokenizer,
)

__all__ = [
    "ACTIONS",
    "AUDIENCES",
    "FIX_TAG_FIELDS",
    "POLICY_DIR",
    "KeyedPolicy",
    "Policy",
    "PolicyError",
    "is_token",
    "load_key",
    "make_tokenizer",
]
