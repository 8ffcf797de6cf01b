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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .records import Record

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
# Every byte that is not a word character in ASCII text (``\w``: [0-9A-Za-z_]) becomes a space.
_ASCII_WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
_ASCII_WORDS_ONLY = bytes(c if c in _ASCII_WORD_BYTES else 0x20 for c in range(256))
_SHINGLE_BASE = np.uint64(0x100000001B3)  # an odd 64-bit multiplier (FNV prime)
_permutations = np.random.default_rng(MINHASH_SEED)
# Multiply-shift hashing: odd multipliers, any offsets; arithmetic wraps modulo 2**64.
_PERM_A = _permutations.integers(1, 2**63, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_PERM_B = _permutations.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
# Values MinHashed per NumPy call: the (permutations x values) uint64 table is then 3 MB.
# Measured on 3,000 benchmark texts: 0.19 s of CPU at 3,000 values, 0.21 s at 5,000 to
# 12,000, 0.49 s at 1,000 to 1,500 (per-call overhead), 0.37 s with a new table per group.
_MINHASH_GROUP_VALUES = 3000
_BAND_PREFIXES = [band.to_bytes(2, "big") for band in range(LSH_BANDS)]


def _word_hashes(text: str) -> Any:
    """The CRC-32 of each lower-cased word's UTF-8 bytes, in text order."""
    if text.isascii():
        # In ASCII text ``\w`` is exactly [0-9A-Za-z_] and bytes.lower() is str.lower(): one
        # C pass over the bytes instead of a match object per word (half the time of findall).
        words = text.encode().lower().translate(_ASCII_WORDS_ONLY).split()
    else:
        words = [word.encode() for word in _WORD.findall(text.lower())]
    return np.fromiter(map(zlib.crc32, words), dtype=np.uint64, count=len(words))


def shingle_hashes(text: str) -> Any:
    """The hash of each ``SHINGLE_WORDS``-word run of ``text`` in text order, repeats kept
    (a uint64 array): what the MinHash needs, without building a set."""
    hashes = _word_hashes(text)
    if not len(hashes):
        return hashes
    width = min(SHINGLE_WORDS, len(hashes))
    runs = len(hashes) - width + 1
    combined = hashes[:runs].copy()
    with np.errstate(over="ignore"):
        for offset in range(1, width):
            combined *= _SHINGLE_BASE
            combined += hashes[offset : offset + runs]
    return combined


def shingles(text: str) -> frozenset[int]:
    """Hashes of the ``SHINGLE_WORDS``-word runs of ``text``, lower-cased, punctuation ignored."""
    return frozenset(shingle_hashes(text).tolist())


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def is_dedup_candidate(shingle_set: frozenset[int]) -> bool:
    """Long enough to be compared by wording (see ``MIN_SHINGLES``)."""
    return len(shingle_set) >= MIN_SHINGLES


def _has_enough_shingles(hashes: Any) -> bool:
    """``is_dedup_candidate`` on the distinct values of ``hashes``, usually without sorting
    them all: the first few dozen runs of a text nearly always hold enough distinct ones."""
    if len(hashes) < MIN_SHINGLES:
        return False
    head = hashes[: 4 * MIN_SHINGLES]
    return len(np.unique(head)) >= MIN_SHINGLES or len(np.unique(hashes)) >= MIN_SHINGLES


def _value_groups(lengths: Sequence[int]) -> Iterable[tuple[int, int]]:
    """Consecutive (start, end) ranges of arrays holding at most ``_MINHASH_GROUP_VALUES``
    values together; an array longer than that is a range alone."""
    start = 0
    while start < len(lengths):
        end, size = start + 1, lengths[start]
        while end < len(lengths) and size + lengths[end] <= _MINHASH_GROUP_VALUES:
            size += lengths[end]
            end += 1
        yield start, end
        start = end


def _hash_into(table: Any, values: Any) -> Any:
    """Every permutation's hash of every value (``NUM_PERM`` x len(values)), written into
    ``table``'s first columns: no new 3 MB array, and its page faults, per group."""
    hashed = table[:, : len(values)]
    with np.errstate(over="ignore"):
        np.multiply(_PERM_A[:, None], values[None, :], out=hashed)
        np.add(hashed, _PERM_B[:, None], out=hashed)
    return hashed


def _minhashes(arrays: Sequence[Any]) -> Any:
    """The MinHash values (``NUM_PERM`` uint32 per array, one row each) of non-empty arrays.

    Arrays are hashed in groups of about ``_MINHASH_GROUP_VALUES`` values, so NumPy is called
    per group rather than per text, and the hash table of a group stays in cache. The shift to
    32 bits is taken after the minimum: it is monotonic, so the result is the same.
    """
    result = np.empty((len(arrays), NUM_PERM), dtype=np.uint32)
    table = np.empty((NUM_PERM, _MINHASH_GROUP_VALUES), dtype=np.uint64)
    for start, end in _value_groups([len(a) for a in arrays]):
        if len(arrays[start]) > _MINHASH_GROUP_VALUES:  # one long text, hashed a slice at a time
            values = arrays[start]
            lowest = np.full((NUM_PERM, 1), np.iinfo(np.uint64).max, dtype=np.uint64)
            for offset in range(0, len(values), _MINHASH_GROUP_VALUES):
                part = _hash_into(table, values[offset : offset + _MINHASH_GROUP_VALUES])
                np.minimum(lowest, part.min(axis=1, keepdims=True), out=lowest)
        else:
            group = arrays[start:end]
            offsets = np.cumsum([0] + [len(a) for a in group[:-1]])
            lowest = np.minimum.reduceat(_hash_into(table, np.concatenate(group)), offsets, axis=1)
        result[start:end] = (lowest >> np.uint64(32)).T
    return result


def _minhash(shingle_set: frozenset[int]) -> Any:
    return _minhashes([np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))])[0]


def signature(shingle_set: frozenset[int]) -> bytes:
    """The MinHash signature (``NUM_PERM`` 32-bit values), or b"" for a text too short to compare."""
    return _minhash(shingle_set).tobytes() if is_dedup_candidate(shingle_set) else b""


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """The share of equal MinHash values: an unbiased estimate of the shingles' Jaccard."""
    if not a or not b:
        return 0.0
    return float(np.mean(np.frombuffer(a, dtype=np.uint32) == np.frombuffer(b, dtype=np.uint32)))


def _band_keys_of(values: Any) -> list[int]:
    rows = values.tobytes()
    width = LSH_ROWS * values.itemsize
    digests = b"".join(
        hashlib.blake2b(prefix + rows[band * width : (band + 1) * width], digest_size=8).digest()
        for band, prefix in enumerate(_BAND_PREFIXES)
    )
    # Each digest read as a big-endian signed 64-bit integer, all at once.
    return np.frombuffer(digests, dtype=">i8").tolist()


def band_keys(shingle_set: frozenset[int], *, minhash: bytes | None = None) -> list[int]:
    """One signed 64-bit key per LSH band; texts sharing any key are candidate copies."""
    if not is_dedup_candidate(shingle_set):
        return []
    values = np.frombuffer(minhash, dtype=np.uint32) if minhash else _minhash(shingle_set)
    return _band_keys_of(values)


@dataclass(frozen=True)
class Fingerprint(Record):
    """A text's MinHash signature and LSH band keys (b"" and [] for a text too short to compare)."""

    signature: bytes
    bands: list[int]


def fingerprints(texts: Sequence[str]) -> list[Fingerprint]:
    """``Fingerprint(signature(s), band_keys(s))`` of each text's shingles ``s``, computed for
    all texts at once: the same values, without building a shingle set per text."""
    hashes = [shingle_hashes(text) for text in texts]
    comparable = [i for i, h in enumerate(hashes) if _has_enough_shingles(h)]
    found = [Fingerprint(b"", [])] * len(texts)
    if not comparable:
        return found
    minhashes = _minhashes([hashes[i] for i in comparable])
    for row, i in enumerate(comparable):
        values = minhashes[row]
        found[i] = Fingerprint(values.tobytes(), _band_keys_of(values))
    return found


def signature_values(signatures: Sequence[bytes]) -> tuple[Any, Any]:
    """The signatures as one (len, ``NUM_PERM``) array of MinHash values, and which of them
    are not empty (an empty signature's row is zeros)."""
    known = np.array([bool(s) for s in signatures], dtype=bool)
    values = np.zeros((len(signatures), NUM_PERM), dtype=np.uint32)
    if known.any():
        present = b"".join(s for s in signatures if s)
        values[known] = np.frombuffer(present, dtype=np.uint32).reshape(-1, NUM_PERM)
    return values, known


def likely_rows(
    unit_values: Any, unit_known: Any, article_rows: Any, other_rows: Any, other_values: Any, other_known: Any
) -> Any:
    """Which candidate pairs (arrays, one entry per pair) are worth confirming on their
    shingles: those whose estimated Jaccard (``estimated_jaccard``) reaches
    ``ESTIMATE_FLOOR``, and those whose second article is stored without a signature (stored
    before signatures were kept: confirmed on its text). A pair with an empty signature (a
    text too short to compare) is not.

    ``unit_values`` and ``unit_known`` are the unit's ``signature_values``; ``article_rows``
    index the pair's first article there, ``other_rows`` its second (-1 when the second is
    a stored article outside the unit). For those, ``other_values`` holds the stored
    signature's values and ``other_known`` whether it has one.
    """
    inside = other_rows >= 0
    inside_rows = other_rows[inside]
    right = other_values.copy()
    right[inside] = unit_values[inside_rows]
    right_known = other_known.copy()
    right_known[inside] = unit_known[inside_rows]
    equal = np.count_nonzero(unit_values[article_rows] == right, axis=1)
    # count / NUM_PERM is exactly the mean that estimated_jaccard takes.
    reached = unit_known[article_rows] & right_known & (equal / NUM_PERM >= ESTIMATE_FLOOR)
    return reached | (~inside & ~other_known)


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
