"""Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4): generation from a hash reader, verification.

Generation needs only the complete subtrees of a :class:`~agentgov.ledger.merkle.HashReader`; the
hash of a partial subtree on the right edge is folded from the complete subtrees that tile it, so a
store never has to hold the whole tree in memory. Verification raises
:class:`~agentgov.ledger.merkle.ProofError` with the reason; it never returns ``False``.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from agentgov.errors import InvalidInput
from agentgov.ledger.merkle import EMPTY_ROOT, HASH_SIZE, HashReader, ProofError, node_hash

__all__ = [
    "consistency_proof",
    "inclusion_proof",
    "range_hash",
    "root_at",
    "verify_consistency",
    "verify_inclusion",
]


def _largest_power_of_two_below(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(begin: int, end: int, reader: HashReader) -> bytes:
    """MTH(D[begin:end]) for a range that the RFC 9162 §2.1.1 recursion produces.

    Such a range starts on a multiple of a power of two at least as large as the range, so it is
    tiled, left to right, by complete subtrees of strictly decreasing size; the fold of their roots
    from the right is the recursive definition's hash.
    """
    if not 0 <= begin < end:
        raise InvalidInput(f"empty or inverted leaf range [{begin}, {end})")
    if begin % (1 << (end - begin - 1).bit_length()):
        raise InvalidInput(f"leaf range [{begin}, {end}) is not a subtree of any RFC 9162 tree")
    parts: list[bytes] = []
    cursor = begin
    while cursor < end:
        level = (end - cursor).bit_length() - 1
        if cursor:
            level = min(level, (cursor & -cursor).bit_length() - 1)
        parts.append(reader.node(level, cursor >> level))
        cursor += 1 << level
    value = parts[-1]
    for left in reversed(parts[:-1]):
        value = node_hash(left, value)
    return value


def root_at(size: int, reader: HashReader) -> bytes:
    """MTH(D[0:size]) from the complete subtrees of the reader."""
    if size < 0:
        raise InvalidInput(f"tree size cannot be negative: {size}")
    return EMPTY_ROOT if size == 0 else range_hash(0, size, reader)


def _path(index: int, begin: int, end: int) -> list[tuple[int, int]]:
    """PATH(m, D[begin:end]) of RFC 9162 §2.1.3.1, as leaf ranges, leaf-side first."""
    ranges: list[tuple[int, int]] = []
    while end - begin > 1:
        split = begin + _largest_power_of_two_below(end - begin)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((begin, split))
            begin = split
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise InvalidInput(f"leaf index {index} is outside a tree of size {size}")
    return [range_hash(begin, end, reader) for begin, end in _path(index, 0, size)]


def _subproof(m: int, begin: int, end: int, known: bool) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[begin:end], b) of RFC 9162 §2.1.4.1, as leaf ranges, in proof order."""
    tail: list[tuple[int, int]] = []
    while True:
        n = end - begin
        if m == n:
            if not known:
                tail.append((begin, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            tail.append((begin + k, end))
            end = begin + k
        else:
            tail.append((begin, begin + k))
            m -= k
            begin += k
            known = False
    tail.reverse()
    return tail


def consistency_proof(size1: int, size2: int, reader: HashReader) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1; empty when the sizes are equal."""
    if not 0 < size1 <= size2:
        raise InvalidInput(f"a consistency proof needs 0 < size1 <= size2, got {size1} and {size2}")
    if size1 == size2:
        return []
    return [range_hash(begin, end, reader) for begin, end in _subproof(size1, 0, size2, True)]


def _inclusion_length(index: int, size: int) -> int:
    # Hashes below the point where the paths to leaf `index` and leaf `size - 1` meet, plus one per
    # left sibling above it: the length of PATH(index, D[size]) (RFC 9162 §2.1.3.1).
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise ProofError(f"proof hash {position} is {len(value)} bytes, expected {HASH_SIZE}")


def _matches(computed: bytes, expected: bytes) -> bool:
    return hmac.compare_digest(computed, expected)


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose root is ``root``.

    Follows RFC 9162 §2.1.3.2 step by step; raises ProofError on any failure.
    """
    # RFC 9162 §2.1.3.2 step 1: the leaf must lie inside the tree.
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
    if len(root) != HASH_SIZE:
        raise ProofError(f"root hash is {len(root)} bytes, expected {HASH_SIZE}")
    _check_proof_hashes(proof)
    expected = _inclusion_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes; leaf {index} of a tree of size {size} needs {expected}"
        )
    # RFC 9162 §2.1.3.2 steps 2 and 3.
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:  # RFC 9162 §2.1.3.2 step 4a: the path climbs past the root.
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # RFC 9162 §2.1.3.2 step 4b: p is a left sibling.
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # RFC 9162 §2.1.3.2 step 4c.
        sn >>= 1
    # RFC 9162 §2.1.3.2 step 5: the path must end at the root, with the root hash.
    if sn != 0:
        raise ProofError("inclusion proof stops short of the root")
    if not _matches(r, root):
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of tree size {size}")


def _consistency_length(size1: int, size2: int) -> int:
    # PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1: the inclusion path of the last leaf of size1, cut
    # at the largest complete subtree ending there, plus that subtree's root unless size1 is a power
    # of two (then the verifier knows it already: it is root1).
    shift = (size1 & -size1).bit_length() - 1
    inner = (((size1 - 1) ^ (size2 - 1)).bit_length()) - shift
    border = ((size1 - 1) >> (inner + shift)).bit_count()
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner + border


def _check_consistency_claim(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """Checks that need no hashing; True when the claim is already proven (equal sizes, equal roots)."""
    # RFC 9162 §2.1.4.2 is defined for 0 < first <= second: nothing is consistent with "no tree",
    # and a tree cannot shrink.
    if size1 <= 0:
        raise ProofError(f"no consistency proof from a tree of size {size1}; the first size must be positive")
    if size2 < size1:
        raise ProofError(f"size2 ({size2}) is smaller than size1 ({size1}): a log cannot shrink")
    if size1 == size2:
        # Equal sizes: the proof is empty and the roots must be the same.
        if proof:
            raise ProofError(f"sizes are equal ({size1}) but the proof is not empty")
        if not _matches(root1, root2):
            raise ProofError(f"two different roots for the same tree size {size1}")
        return True
    # RFC 9162 §2.1.4.2 step 1: an empty path proves nothing.
    if not proof:
        raise ProofError(f"empty consistency proof between sizes {size1} and {size2}")
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        raise ProofError(f"root hashes must be {HASH_SIZE} bytes, got {len(root1)} and {len(root2)}")
    _check_proof_hashes(proof)
    expected = _consistency_length(size1, size2)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof has {len(proof)} hashes; sizes {size1} -> {size2} need {expected}"
        )
    return False


def _rebuild_roots(size1: int, size2: int, path: Sequence[bytes]) -> tuple[bytes, bytes]:
    """Steps 3 to 6 of RFC 9162 §2.1.4.2: the two roots the path leads to, and the final sn check."""
    # RFC 9162 §2.1.4.2 steps 3 and 4.
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # RFC 9162 §2.1.4.2 step 5.
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # RFC 9162 §2.1.4.2 step 6a.
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # RFC 9162 §2.1.4.2 step 6b: c is a left sibling of both paths.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:  # c extends only the second tree.
            sr = node_hash(sr, c)
        fn >>= 1  # RFC 9162 §2.1.4.2 step 6c.
        sn >>= 1
    # RFC 9162 §2.1.4.2 step 7: the path must end at the root.
    if sn != 0:
        raise ProofError("consistency proof stops short of the root")
    return fr, sr


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the one of ``size1`` with ``root1``.

    Follows RFC 9162 §2.1.4.2 step by step; raises ProofError on any failure.
    """
    if _check_consistency_claim(size1, size2, proof, root1, root2):
        return
    # RFC 9162 §2.1.4.2 step 2: a power-of-two first tree is its own first subtree.
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fr, sr = _rebuild_roots(size1, size2, path)
    # RFC 9162 §2.1.4.2 step 7: both rebuilt roots must be the claimed ones.
    if not _matches(fr, root1):
        raise ProofError(f"consistency proof does not rebuild root1 of tree size {size1}")
    if not _matches(sr, root2):
        raise ProofError(f"consistency proof does not rebuild root2 of tree size {size2}")
