"""RFC 6962 conformance: transparency-dev/merkle probes and the 8-leaf reference tree."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger import merkle

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "vectors" / "rfc6962-merkle"
LOCAL = HERE / "vectors" / "rfc6962-probes.json"

REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _local(kind: str) -> list[dict[str, Any]]:
    probes: list[dict[str, Any]] = json.loads(LOCAL.read_text())[kind]
    return probes


def _shared(kind: str) -> list[dict[str, Any]]:
    if not SHARED.is_dir():
        pytest.skip(f"shared vectors not found at {SHARED} (the local copy is tested instead)")
    out = []
    for f in sorted((SHARED / kind).rglob("*.json")):
        probe = json.loads(f.read_text())
        probe["file"] = str(f.relative_to(SHARED))
        out.append(probe)
    assert out, f"no {kind} probes under {SHARED}"
    return out


def _b(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


def _check_inclusion(p: dict[str, Any]) -> None:
    try:
        merkle.verify_inclusion(
            p["leafIdx"],
            p["treeSize"],
            base64.b64decode(p["leafHash"]),
            _b(p["proof"]),
            base64.b64decode(p["root"]),
        )
        failed = False
    except merkle.ProofError:
        failed = True
    assert failed == p["wantErr"], f"{p['file']}: {p['desc']}"


def _check_consistency(p: dict[str, Any]) -> None:
    try:
        merkle.verify_consistency(
            p["size1"],
            p["size2"],
            _b(p["proof"]),
            base64.b64decode(p["root1"]),
            base64.b64decode(p["root2"]),
        )
        failed = False
    except merkle.ProofError:
        failed = True
    assert failed == p["wantErr"], f"{p['file']}: {p['desc']}"


def test_it_agrees_with_every_bundled_inclusion_probe() -> None:
    probes = _local("inclusion")
    assert len(probes) == 98 and any(p["wantErr"] for p in probes)
    for p in probes:
        _check_inclusion(p)


def test_it_agrees_with_every_bundled_consistency_probe() -> None:
    probes = _local("consistency")
    assert len(probes) == 98 and any(p["wantErr"] for p in probes)
    for p in probes:
        _check_consistency(p)


def test_it_agrees_with_the_shared_inclusion_probes() -> None:
    for p in _shared("inclusion"):
        _check_inclusion(p)


def test_it_agrees_with_the_shared_consistency_probes() -> None:
    for p in _shared("consistency"):
        _check_consistency(p)


def test_reference_tree_roots_match_at_every_size() -> None:
    leaves = merkle.leaf_hashes(REFERENCE_LEAVES)
    assert merkle.root([]) == merkle.EMPTY_ROOT
    assert [merkle.root(leaves[:n]).hex() for n in range(1, 9)] == REFERENCE_ROOTS


def _stored(leaves: list[bytes]) -> merkle.Fetch:
    lv = merkle.levels(leaves)
    return lambda keys: {k: lv[k[0]][k[1]] for k in keys}


def test_generated_proofs_equal_the_published_happy_path_proofs() -> None:
    """Our proofs from stored subtrees are byte-identical to the reference ones for the same tree."""
    leaves = merkle.leaf_hashes(REFERENCE_LEAVES)
    fetch = _stored(leaves)
    matched = 0
    for p in _local("inclusion"):
        if p["wantErr"] or p["treeSize"] > 8:
            continue
        if base64.b64decode(p["leafHash"]) != leaves[p["leafIdx"]]:
            continue
        got = merkle.inclusion_proof(p["leafIdx"], p["treeSize"], fetch)
        assert got == _b(p["proof"]), p["file"]
        matched += 1
    for p in _local("consistency"):
        if p["wantErr"] or not 0 < p["size1"] < p["size2"] <= 8:
            continue
        if base64.b64decode(p["root2"]) != merkle.root(leaves[: p["size2"]]):
            continue
        assert merkle.consistency_proof(p["size1"], p["size2"], fetch) == _b(p["proof"]), p["file"]
        matched += 1
    assert matched >= 4


def test_every_proof_over_the_reference_tree_verifies() -> None:
    leaves = merkle.leaf_hashes(REFERENCE_LEAVES)
    fetch = _stored(leaves)
    for n in range(1, 9):
        root = bytes.fromhex(REFERENCE_ROOTS[n - 1])
        for i in range(n):
            merkle.verify_inclusion(i, n, leaves[i], merkle.inclusion_proof(i, n, fetch), root)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, n, fetch)
            merkle.verify_consistency(m, n, proof, bytes.fromhex(REFERENCE_ROOTS[m - 1]), root)


def test_it_refuses_impossible_proof_requests() -> None:
    fetch = _stored(merkle.leaf_hashes(REFERENCE_LEAVES))
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(8, 8, fetch)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(0, 4, fetch)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(5, 4, fetch)
