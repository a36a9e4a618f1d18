"""A compiled privacy policy, and the policy bound to its key that ingest applies to every event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deltatrace.canonical import digest as _digest
from deltatrace.privacy.fix import fix_needles, rewrite_fix
from deltatrace.privacy.rules import (
    _TOP_FIELDS,
    AUDIENCES,
    DROP,
    FIX_TAG_FIELDS,
    POLICY_DIR,
    Op,
    PolicyError,
    Tokenizer,
    Tree,
    _compile_op,
    _hlc_wall,
    _tag_pairs,
    _tree_set,
    _walk,
    make_tokenizer,
)


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
