"""The ledger API: checkpoint note, entries, proofs and keys, authenticated, with clear 400s."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from ledger import keys, log, merkle, note

from .helpers import fill, hexes

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(make_user: Any) -> APIClient:
    c = APIClient()
    c.force_authenticate(make_user("viv", "viewer"))
    return c


def test_anonymous_requests_are_refused() -> None:
    for url in ("/api/ledger/checkpoint", "/api/ledger/keys", "/api/ledger/entries"):
        assert APIClient().get(url).status_code in (401, 403)


def test_checkpoint_is_a_signed_note_that_verifies(client: APIClient) -> None:
    fill(9)
    resp = client.get("/api/ledger/checkpoint")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/plain")
    vkeys = [k["vkey"] for k in client.get("/api/ledger/keys").json()["keys"]]
    cp = note.open_checkpoint(resp.content.decode(), [note.Verifier.parse(v) for v in vkeys])
    assert cp.size == 9 and cp.origin == keys.origin()


def test_proofs_from_the_api_verify_against_the_checkpoint(client: APIClient) -> None:
    fill(21)
    cp = note.Checkpoint.parse(
        client.get("/api/ledger/checkpoint").content.decode().split("\n\n")[0] + "\n"
    )
    inc = client.get("/api/ledger/proof/inclusion", {"index": 13, "tree_size": 21}).json()
    assert set(inc) == {"leaf_index", "tree_size", "leaf_hash", "hashes"}
    entries = client.get("/api/ledger/entries", {"start": 13, "end": 14}).json()["entries"]
    leaf = merkle.leaf_hash(entries[0]["canonical"].encode())
    assert leaf.hex() == inc["leaf_hash"]
    merkle.verify_inclusion(13, 21, leaf, hexes(inc["hashes"]), cp.root)

    fill(4)
    new_root = bytes(log.latest_checkpoint().root)
    con = client.get("/api/ledger/proof/consistency", {"first": 21, "second": 25}).json()
    assert (con["first"], con["second"]) == (21, 25)
    merkle.verify_consistency(21, 25, hexes(con["hashes"]), cp.root, new_root)


def test_entries_are_returned_canonical_and_in_order(client: APIClient) -> None:
    fill(5)
    body = client.get("/api/ledger/entries", {"start": 1}).json()
    assert body["tree_size"] == 5 and [e["index"] for e in body["entries"]] == [1, 2, 3, 4]
    first = body["entries"][0]
    assert orjson.loads(first["canonical"])["subject"] == "incident-1"


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        ("/api/ledger/proof/inclusion", {"tree_size": 3}, "required"),
        ("/api/ledger/proof/inclusion", {"index": "x", "tree_size": 3}, "non-negative integer"),
        ("/api/ledger/proof/inclusion", {"index": 3, "tree_size": 3}, "not in a tree"),
        ("/api/ledger/proof/inclusion", {"index": 0, "tree_size": 9}, "larger than the log"),
        ("/api/ledger/proof/consistency", {"first": 0, "second": 2}, "0 < first"),
        ("/api/ledger/proof/consistency", {"first": 3, "second": 2}, "0 < first"),
        ("/api/ledger/proof/consistency", {"first": -1, "second": 2}, "non-negative integer"),
        ("/api/ledger/entries", {"start": 2, "end": 1}, "after end"),
        ("/api/ledger/entries", {"start": 0, "end": 4}, "beyond the log"),
    ],
)
def test_bad_parameters_get_a_clear_400(
    client: APIClient, url: str, params: dict[str, Any], message: str
) -> None:
    fill(3)
    resp = client.get(url, params)
    assert resp.status_code == 400
    assert message in str(resp.json())


def test_keys_lists_current_and_retired_keys(
    client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    fill(2)
    log.latest_checkpoint()
    with django_capture_on_commit_callbacks(execute=True):
        old, new = keys.rotate_key("admin")
    body = client.get("/api/ledger/keys").json()
    by_id = {k["key_id"]: k for k in body["keys"]}
    assert by_id[old.key_id]["retired"] and not by_id[old.key_id]["current"]
    assert by_id[new.key_id]["current"] and by_id[new.key_id]["vkey"] == new.vkey
