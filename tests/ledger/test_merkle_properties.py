"""Algebraic properties of the Merkle core, checked against the recursive definition of RFC 9162 §2.1.1."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgov.errors import InvalidInput, NotFound
from agentgov.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    InMemoryTree,
    ProofError,
    leaf_hash,
    node_hash,
    tree_hash,
)
from agentgov.ledger.proofs import (
    consistency_proof,
    inclusion_proof,
    range_hash,
    root_at,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300


def naive_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 writes it."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


def leaves_of(size: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]


def tree_of(size: int) -> tuple[InMemoryTree, list[bytes]]:
    leaves = leaves_of(size)
    return InMemoryTree(leaves), leaves


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    return draw(st.integers(min_value=1, max_value=size2)), size2


def flip(value: bytes, position: int, bit: int) -> bytes:
    mutated = bytearray(value)
    mutated[position] ^= 1 << bit
    return bytes(mutated)


@given(size_and_index())
def test_generated_inclusion_proof_verifies_against_the_recursive_root(case: tuple[int, int]) -> None:
    size, index = case
    tree, leaves = tree_of(size)
    root = naive_root(leaves)
    verify_inclusion(index, size, leaves[index], inclusion_proof(index, size, tree), root)


@given(size_and_index(), st.integers(min_value=1, max_value=MAX_SIZE))
def test_inclusion_proof_at_an_older_size_is_served_by_a_grown_tree(
    case: tuple[int, int], growth: int
) -> None:
    size, index = case
    tree, leaves = tree_of(size + growth)
    proof = inclusion_proof(index, size, tree)
    verify_inclusion(index, size, leaves[index], proof, naive_root(leaves[:size]))


@given(two_sizes())
def test_generated_consistency_proof_verifies_between_recursive_roots(sizes: tuple[int, int]) -> None:
    size1, size2 = sizes
    tree, leaves = tree_of(size2)
    proof = consistency_proof(size1, size2, tree)
    verify_consistency(size1, size2, proof, naive_root(leaves[:size1]), naive_root(leaves))


@settings(max_examples=25)
@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_compact_range_root_equals_recursive_root_at_every_size(size: int) -> None:
    leaves = leaves_of(size)
    compact = CompactRange()
    tree = InMemoryTree()
    assert compact.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, start=1):
        compact.append(leaf)
        tree.append(leaf)
        expected = naive_root(leaves[:n])
        assert compact.root() == expected
        assert root_at(n, tree) == expected
    restored = CompactRange.restore(compact.size, compact.hashes)
    assert restored.root() == compact.root()


@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_compact_range_reports_every_complete_subtree_once(size: int) -> None:
    leaves = leaves_of(size)
    compact = CompactRange()
    reported: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for node in compact.append(leaf):
            assert (node.level, node.index) not in reported
            reported[(node.level, node.index)] = node.hash
    expected_count = sum(size >> level for level in range(size.bit_length() + 1))
    assert len(reported) == expected_count
    for (level, index), value in reported.items():
        assert value == naive_root(leaves[index << level : (index + 1) << level])
    for node in compact.edge():
        assert reported[(node.level, node.index)] == node.hash


@given(size_and_index(), st.data())
def test_any_flipped_bit_in_an_inclusion_proof_is_rejected(
    case: tuple[int, int], data: st.DataObject
) -> None:
    size, index = case
    tree, leaves = tree_of(size)
    proof = inclusion_proof(index, size, tree)
    if not proof:
        return
    target = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    position = data.draw(st.integers(min_value=0, max_value=31))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    tampered = [*proof]
    tampered[target] = flip(proof[target], position, bit)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaves[index], tampered, tree.root())


@given(two_sizes(), st.data())
def test_any_flipped_bit_in_a_consistency_proof_is_rejected(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    size1, size2 = sizes
    tree, leaves = tree_of(size2)
    proof = consistency_proof(size1, size2, tree)
    if not proof:
        return
    target = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    position = data.draw(st.integers(min_value=0, max_value=31))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    tampered = [*proof]
    tampered[target] = flip(proof[target], position, bit)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, tampered, naive_root(leaves[:size1]), tree.root())


@given(size_and_index(), st.integers(min_value=-3, max_value=MAX_SIZE + 3))
def test_inclusion_proof_presented_for_another_leaf_index_is_rejected(
    case: tuple[int, int], other: int
) -> None:
    size, index = case
    if other == index:
        return
    tree, leaves = tree_of(size)
    proof = inclusion_proof(index, size, tree)
    with pytest.raises(ProofError):
        verify_inclusion(other, size, leaves[index], proof, tree.root())


@given(size_and_index(), st.integers(min_value=0, max_value=2 * MAX_SIZE))
def test_inclusion_proof_presented_for_another_tree_size_is_rejected(
    case: tuple[int, int], other: int
) -> None:
    # The claimed size comes with the honest root at that size, as a signed checkpoint would give it:
    # the proof alone binds the shape of the path, the checkpoint binds the size to the root.
    size, index = case
    if other == size:
        return
    tree, leaves = tree_of(max(size, other))
    proof = inclusion_proof(index, size, tree)
    with pytest.raises(ProofError):
        verify_inclusion(index, other, leaves[index], proof, root_at(other, tree))


@given(two_sizes(), st.integers(min_value=0, max_value=2 * MAX_SIZE), st.booleans())
def test_consistency_proof_presented_for_other_sizes_is_rejected(
    sizes: tuple[int, int], other: int, change_first: bool
) -> None:
    size1, size2 = sizes
    claimed1, claimed2 = (other, size2) if change_first else (size1, other)
    if (claimed1, claimed2) == (size1, size2):
        return
    tree, _ = tree_of(max(size2, other))
    proof = consistency_proof(size1, size2, tree)
    with pytest.raises(ProofError):
        verify_consistency(claimed1, claimed2, proof, root_at(claimed1, tree), root_at(claimed2, tree))


@given(two_sizes())
def test_consistency_proof_does_not_vouch_for_a_rewritten_history(sizes: tuple[int, int]) -> None:
    size1, size2 = sizes
    tree, leaves = tree_of(size2)
    proof = consistency_proof(size1, size2, tree)
    forged = [*leaves[: size1 - 1], leaf_hash(b"rewritten")]
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, naive_root(forged), tree.root())


def test_known_roots_of_small_trees_match_rfc_6962_reference_values() -> None:
    # Reference roots from the RFC 6962 test tree of 8 entries used by transparency-dev/merkle.
    entries = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    assert tree_hash([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert tree_hash(entries[:1]).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert tree_hash(entries).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_proof_generation_refuses_impossible_requests() -> None:
    tree, _ = tree_of(4)
    with pytest.raises(InvalidInput):
        inclusion_proof(4, 4, tree)
    with pytest.raises(InvalidInput):
        consistency_proof(0, 4, tree)
    with pytest.raises(InvalidInput):
        consistency_proof(3, 2, tree)
    with pytest.raises(InvalidInput):
        range_hash(2, 2, tree)
    with pytest.raises(InvalidInput):
        range_hash(1, 4, tree)
    with pytest.raises(NotFound):
        inclusion_proof(0, 8, tree)


def test_compact_range_refuses_a_corrupt_right_edge() -> None:
    with pytest.raises(InvalidInput):
        CompactRange.restore(3, [EMPTY_ROOT])
    with pytest.raises(InvalidInput):
        CompactRange.restore(1, [b"short"])
    with pytest.raises(InvalidInput):
        CompactRange().append(b"not a hash")
