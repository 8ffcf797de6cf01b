"""Find syndicated copies: word shingles, MinHash signatures, LSH band keys, union of copies.

Pure: no I/O. The store keeps the band keys, so a new article is compared with every stored
one through an indexed join instead of a scan; candidates are then confirmed on exact shingles.

The choices, and why:
- Shingles are runs of ``SHINGLE_WORDS`` = 5 lower-cased words of the text (not the title,
  which outlets rewrite). Five words are specific enough that two different stories about
  the same event share few of them, yet one edited word only changes five shingles.
- Two texts are copies when the Jaccard similarity of their shingle sets is at least
  ``NEAR_DUPLICATE_JACCARD`` = 0.5: a wire story with a new first paragraph, a trimmed
  ending or a few reworded sentences stays well above it; separate reports quoting the
  same statement stay far below (typically under 0.1).
- MinHash with ``NUM_PERM`` = 128 permutations, split into ``LSH_BANDS`` = 32 bands of
  ``LSH_ROWS`` = 4 rows. A pair becomes a candidate with probability 1 - (1 - J**4)**32:
  0.87 at Jaccard 0.5, 0.99 at 0.6, over 0.9999 at 0.8, 0.05 at 0.2. That favours recall
  over datasketch's balanced split for 0.5 (25 x 5, which finds only 0.55 of the pairs at
  0.5) because every candidate is confirmed on its exact shingles, so a false candidate
  costs one set comparison and never links anything.
- Texts with fewer than ``MIN_SHINGLES`` shingles (about 30 words) are too short to call
  copies from wording alone; only identical texts (same content hash) are linked for them.
- Shingles are 64-bit hashes (CRC-32 of each word, combined polynomially), and the MinHash
  permutations are multiply-shift hashes over them, computed with NumPy for all shingles
  and permutations at once. datasketch's MinHash hashed every shingle with SHA-1 in a
  Python loop: 1.6 ms an article, more than VADER scoring the same article; this takes
  under 0.1 ms. The collision odds of 64-bit shingle hashes are negligible next to 0.5.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

SHINGLE_WORDS = 5
NEAR_DUPLICATE_JACCARD = 0.5
NUM_PERM = 128
LSH_BANDS = 32
LSH_ROWS = 4
MIN_SHINGLES = 25
# A fixed seed: band keys stored by one run must match those computed by the next.
MINHASH_SEED = 1
# Candidates whose estimated Jaccard is below this are dropped before their texts are read:
# with 128 permutations the estimate's standard deviation at 0.5 is 0.044, so a true copy
# falls below 0.3 with odds under one in a million.
ESTIMATE_FLOOR = 0.3

_WORD = re.compile(r"\w+")
_SHINGLE_BASE = np.uint64(0x100000001B3)  # an odd 64-bit multiplier (FNV prime)
_permutations = np.random.default_rng(MINHASH_SEED)
# Multiply-shift hashing: odd multipliers, any offsets; arithmetic wraps modulo 2**64.
_PERM_A = _permutations.integers(1, 2**63, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_PERM_B = _permutations.integers(0, 2**63, NUM_PERM, dtype=np.uint64)


def shingles(text: str) -> frozenset[int]:
    """Hashes of the ``SHINGLE_WORDS``-word runs of ``text``, lower-cased, punctuation ignored."""
    words = _WORD.findall(text.lower())
    if not words:
        return frozenset()
    hashes = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    width = min(SHINGLE_WORDS, len(hashes))
    runs = len(hashes) - width + 1
    combined = np.zeros(runs, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(width):
            combined = combined * _SHINGLE_BASE + hashes[offset : offset + runs]
    return frozenset(combined.tolist())


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def is_dedup_candidate(shingle_set: frozenset[int]) -> bool:
    """Long enough to be compared by wording (see ``MIN_SHINGLES``)."""
    return len(shingle_set) >= MIN_SHINGLES


def _minhash(shingle_set: frozenset[int]) -> Any:
    values = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
    with np.errstate(over="ignore"):
        hashed = (_PERM_A[:, None] * values[None, :] + _PERM_B[:, None]) >> np.uint64(32)
    return hashed.min(axis=1).astype(np.uint32)


def signature(shingle_set: frozenset[int]) -> bytes:
    """The MinHash signature (``NUM_PERM`` 32-bit values), or b"" for a text too short to compare."""
    return _minhash(shingle_set).tobytes() if is_dedup_candidate(shingle_set) else b""


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """The share of equal MinHash values: an unbiased estimate of the shingles' Jaccard."""
    if not a or not b:
        return 0.0
    return float(np.mean(np.frombuffer(a, dtype=np.uint32) == np.frombuffer(b, dtype=np.uint32)))


def band_keys(shingle_set: frozenset[int], *, minhash: bytes | None = None) -> list[int]:
    """One signed 64-bit key per LSH band; texts sharing any key are candidate copies."""
    if not is_dedup_candidate(shingle_set):
        return []
    values = np.frombuffer(minhash, dtype=np.uint32) if minhash else _minhash(shingle_set)
    keys = []
    for band in range(LSH_BANDS):
        rows = values[band * LSH_ROWS : (band + 1) * LSH_ROWS].tobytes()
        digest = hashlib.blake2b(band.to_bytes(2, "big") + rows, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def confirm_copies(
    candidates: Iterable[tuple[str, str]],
    texts: Mapping[str, str],
    *,
    known_shingles: Mapping[str, frozenset[int]] | None = None,
) -> list[tuple[str, str, float]]:
    """The candidate pairs whose exact shingle Jaccard reaches the threshold, with its value.

    ``known_shingles`` are shingle sets already computed (for the band keys), reused as is.
    """
    cache: dict[str, frozenset[int]] = dict(known_shingles or {})

    def shingles_of(article_id: str) -> frozenset[int]:
        if article_id not in cache:
            cache[article_id] = shingles(texts[article_id])
        return cache[article_id]

    confirmed = []
    for a, b in sorted({tuple(sorted(pair)) for pair in candidates if pair[0] != pair[1]}):
        if a in texts and b in texts:
            similarity = jaccard(shingles_of(a), shingles_of(b))
            if similarity >= NEAR_DUPLICATE_JACCARD:
                confirmed.append((a, b, round(similarity, 4)))
    return confirmed


def duplicate_roots(pairs: Iterable[tuple[str, str]], order: Mapping[str, Any]) -> dict[str, str]:
    """Group linked articles (transitively) and point every copy at its group's first article.

    ``order`` gives each article's sort key (its publication time, then id); the smallest is
    the original. Returns ``{copy: original}`` for copies only, so originals are absent.
    """
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in pairs:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            first, second = sorted((root_a, root_b), key=lambda n: (order[n], n))
            parent[second] = first
    return {node: find(node) for node in parent if find(node) != node}
