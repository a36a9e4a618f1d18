"""Property tests over random trees: honest proofs verify, any tampering is rejected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle

SETTINGS = settings(max_examples=150, deadline=None)


def _tree(n: int) -> tuple[list[bytes], merkle.Fetch]:
    leaves = merkle.leaf_hashes(i.to_bytes(4, "big") for i in range(n))
    lv = merkle.levels(leaves)
    return leaves, lambda keys: {k: lv[k[0]][k[1]] for k in keys}


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _rejects(fn, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
    except merkle.ProofError:
        return True
    return False


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 300))
    return n, draw(st.integers(0, n - 1))


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(2, 300))
    return draw(st.integers(1, n - 1)), n


@SETTINGS
@given(tree_and_index(), st.integers(0, 10**6))
def test_inclusion_proofs_verify_and_tampering_fails(ti: tuple[int, int], bit: int) -> None:
    n, i = ti
    leaves, fetch = _tree(n)
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(i, n, fetch)
    merkle.verify_inclusion(i, n, leaves[i], proof, root)
    assert _rejects(merkle.verify_inclusion, i, n, leaves[i], proof, _flip(root, bit))
    assert _rejects(merkle.verify_inclusion, i, n, _flip(leaves[i], bit), proof, root)
    if proof:
        j = bit % len(proof)
        bad = [*proof[:j], _flip(proof[j], bit), *proof[j + 1 :]]
        assert _rejects(merkle.verify_inclusion, i, n, leaves[i], bad, root)
        assert _rejects(merkle.verify_inclusion, i, n, leaves[i], proof[:-1], root)
        assert _rejects(merkle.verify_inclusion, i, n, leaves[i], [*proof, proof[0]], root)
    other = (i + 1 + bit % n) % n
    if other != i and leaves[other] != leaves[i]:
        assert _rejects(merkle.verify_inclusion, other, n, leaves[i], proof, root)


@SETTINGS
@given(tree_and_sizes(), st.integers(0, 10**6))
def test_consistency_proofs_verify_and_tampering_fails(sizes: tuple[int, int], bit: int) -> None:
    m, n = sizes
    leaves, fetch = _tree(n)
    r1, r2 = merkle.root(leaves[:m]), merkle.root(leaves)
    proof = merkle.consistency_proof(m, n, fetch)
    merkle.verify_consistency(m, n, proof, r1, r2)
    assert _rejects(merkle.verify_consistency, m, n, proof, _flip(r1, bit), r2)
    assert _rejects(merkle.verify_consistency, m, n, proof, r1, _flip(r2, bit))
    j = bit % len(proof)
    bad = [*proof[:j], _flip(proof[j], bit), *proof[j + 1 :]]
    assert _rejects(merkle.verify_consistency, m, n, bad, r1, r2)
    assert _rejects(merkle.verify_consistency, m, n, proof[:-1], r1, r2)
    assert _rejects(merkle.verify_consistency, m, n, [*proof, proof[0]], r1, r2)
    # A different history of the same sizes is not consistent with this one.
    forked = [*leaves[: m - 1], merkle.leaf_hash(b"forged"), *leaves[m:]]
    assert _rejects(merkle.verify_consistency, m, n, proof, r1, merkle.root(forked))


@SETTINGS
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=200))
def test_levels_root_equals_the_rfc_recursive_definition(entries: list[bytes]) -> None:
    def mth(d: list[bytes]) -> bytes:
        if len(d) == 1:
            return merkle.leaf_hash(d[0])
        k = 1 << ((len(d) - 1).bit_length() - 1)
        return merkle.node_hash(mth(d[:k]), mth(d[k:]))

    assert merkle.root(merkle.leaf_hashes(entries)) == mth(entries)
