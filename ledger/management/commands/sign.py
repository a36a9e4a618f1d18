"""``deltatrace sign``: approvals signed with a key file, for approvers who sign offline.

    deltatrace sign keygen --out KEY.pem
    deltatrace sign register --key-file KEY.pem (--server URL --token T | --user NAME) [--label L]
    deltatrace sign --key-file KEY.pem --trigger ID|DIGEST --decision approve|reject
                    (--server URL --token T | --out FILE) [--checkpoint NOTE]
    deltatrace sign submit FILE (--server URL --token T | --user NAME)

Signing recomputes the trigger's content digest and checks the checkpoint's signature before
signing, so the approver signs what they were shown. With ``--out`` the trigger and checkpoint come
from this installation's database (or ``--checkpoint``, a saved checkpoint note) and the signed
approval is written to FILE, to be submitted later from anywhere.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import note
from ledger.approvals import rules


def _load_key(path: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"cannot read key file {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CommandError(f"{path} is not an Ed25519 private key")
    return key


def _public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class Server:
    """The few API calls signing needs, with a user token."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            raise CommandError("--server needs --token (or DELTATRACE_TOKEN)")
        self.url = url.rstrip("/")
        self.token = token

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        req = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", "")
            except (ValueError, AttributeError):
                detail = ""
            raise CommandError(f"server refused {path}: HTTP {exc.code} {detail}".strip()) from exc
        except urllib.error.URLError as exc:
            raise CommandError(f"cannot reach {self.url}: {exc.reason}") from exc
        return raw.decode() if ctype.startswith("text/plain") else json.loads(raw)

    def trigger(self, ref: str) -> dict[str, Any]:
        return dict(self.call(f"/api/triggers/{ref}/"))

    def checkpoint(self) -> note.Checkpoint:
        text = str(self.call("/api/ledger/checkpoint"))
        verifiers = [note.Verifier.parse(k["vkey"]) for k in self.call("/api/ledger/keys")["keys"]]
        try:
            return note.open_checkpoint(text, verifiers)
        except note.NoteError as exc:
            raise CommandError(f"the server's checkpoint does not verify: {exc}") from exc


class Command(BaseCommand):
    help = "Sign a trigger approval with an Ed25519 key file (offline approvers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["keygen", "register", "submit"])
        parser.add_argument("file", nargs="?", help="submit: the signed approval file")
        parser.add_argument("--key-file", help="PEM Ed25519 private key")
        parser.add_argument("--out", help="keygen: the new key file; sign: write the approval here")
        parser.add_argument("--trigger", help="trigger id or content digest")
        parser.add_argument("--decision", choices=rules.DECISIONS)
        parser.add_argument("--server", help="DeltaTrace URL, e.g. http://127.0.0.1:8000")
        parser.add_argument("--token", default=os.environ.get("DELTATRACE_TOKEN", ""))
        parser.add_argument("--user", help="act as this user on the local database")
        parser.add_argument("--checkpoint", help="a saved checkpoint note to sign against")
        parser.add_argument("--label", default="offline key")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **o: Any) -> None:
        action = o["action"]
        result = (
            self.keygen(o)
            if action == "keygen"
            else self.register(o)
            if action == "register"
            else self.submit(o)
            if action == "submit"
            else self.sign(o)
        )
        if o["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
        else:
            for k, v in result.items():
                self.stdout.write(f"{k}: {v}")

    # ---- actions --------------------------------------------------------------------------------

    def keygen(self, o: dict[str, Any]) -> dict[str, Any]:
        if not o["out"]:
            raise CommandError("keygen needs --out KEY.pem")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            fd = os.open(o["out"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"{o['out']} exists; not overwriting a key") from exc
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return {"key_file": o["out"], "key_id": rules.key_id(_public_raw(key))}

    def register(self, o: dict[str, Any]) -> dict[str, Any]:
        key = _load_key(self._need(o, "key_file"))
        public = base64.b64encode(_public_raw(key)).decode()
        if o["server"]:
            got = Server(o["server"], o["token"]).call(
                "/api/approver-keys/", {"public_key": public, "label": o["label"]}
            )
            return {"key_id": got["key_id"], "registered_index": got["registered_index"]}
        from ledger.approvals import services

        k = self._service(services.do_register_key, self._user(o), public, o["label"])
        return {"key_id": k.key_id, "registered_index": k.registered_index}

    def sign(self, o: dict[str, Any]) -> dict[str, Any]:
        key = _load_key(self._need(o, "key_file"))
        ref, decision = self._need(o, "trigger"), self._need(o, "decision")
        if not (o["server"] or o["out"]):
            raise CommandError("give --server URL --token T to submit, or --out FILE to save")
        server = Server(o["server"], o["token"]) if o["server"] else None
        trigger = server.trigger(ref) if server else self._local_trigger(ref)
        if rules.content_digest(trigger["content"]) != trigger["digest"]:
            raise CommandError(f"trigger {ref}'s content does not hash to its digest: not signing")
        cp = self._checkpoint(o, server)
        stmt = rules.statement(
            trigger["digest"],
            decision,
            rules.key_id(_public_raw(key)),
            cp.size,
            cp.root.hex(),
            time.time_ns() // 1_000_000,
        )
        signed = {
            "trigger": trigger["id"],
            "statement": stmt,
            "signature": base64.b64encode(key.sign(rules.canonical(stmt))).decode(),
        }
        if o["out"]:
            Path(o["out"]).write_text(json.dumps(signed, indent=1) + "\n")
            return {"out": o["out"], "trigger": trigger["id"], "key_id": stmt["key_id"]}
        assert server is not None
        return self._post(server, signed)

    def submit(self, o: dict[str, Any]) -> dict[str, Any]:
        path = o["file"] or self._need(o, "file")
        try:
            signed = json.loads(Path(path).read_text())
            trigger_ref, stmt, sig = (
                str(signed["trigger"]),
                signed["statement"],
                signed["signature"],
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{path} is not a signed approval file: {exc}") from exc
        if o["server"]:
            return self._post(Server(o["server"], o["token"]), signed)
        from ledger.approvals import api, services

        try:
            trigger = api.get_trigger(trigger_ref)
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        approval = self._service(services.do_approve, self._user(o), trigger, stmt, sig)
        trigger.refresh_from_db()
        return {
            "approval": approval.pk,
            "ledger_index": approval.ledger_index,
            "status": trigger.status,
        }

    # ---- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _need(o: dict[str, Any], name: str) -> Any:
        if not o.get(name):
            raise CommandError(f"--{name.replace('_', '-')} is required here")
        return o[name]

    @staticmethod
    def _service(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except rules.RuleError as exc:
            raise CommandError(str(exc)) from exc

    def _user(self, o: dict[str, Any]) -> Any:
        from django.contrib.auth.models import User

        user = User.objects.filter(username=self._need(o, "user")).first()
        if user is None:
            raise CommandError(f"no user {o['user']!r}")
        return user

    @staticmethod
    def _post(server: Server, signed: dict[str, Any]) -> dict[str, Any]:
        got = server.call(
            f"/api/triggers/{signed['trigger']}/approvals/",
            {"statement": signed["statement"], "signature": signed["signature"]},
        )
        return {
            "approval": got["approval"]["id"],
            "ledger_index": got["approval"]["ledger_index"],
            "status": got["trigger"]["status"],
        }

    @staticmethod
    def _local_trigger(ref: str) -> dict[str, Any]:
        from ledger.approvals import api

        try:
            t = api.get_trigger(ref)
        except Exception as exc:
            raise CommandError(f"no trigger {ref!r} in this database") from exc
        return {"id": t.pk, "digest": t.digest, "content": t.content}

    @staticmethod
    def _checkpoint(o: dict[str, Any], server: Server | None) -> note.Checkpoint:
        if o["checkpoint"]:
            try:
                return note.Checkpoint.parse(
                    note.open_note(Path(o["checkpoint"]).read_text(), _local_verifiers())
                )
            except (OSError, note.NoteError) as exc:
                raise CommandError(f"checkpoint {o['checkpoint']}: {exc}") from exc
        if server is not None:
            return server.checkpoint()
        from ledger import log

        cp = log.latest_checkpoint()
        return note.Checkpoint("", cp.tree_size, bytes(cp.root))


def _local_verifiers() -> list[note.Verifier]:
    from ledger import keys

    return keys.published_verifiers()
