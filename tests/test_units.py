"""How file sources become units of work: about 1,000 articles of files each, in order."""

from __future__ import annotations

from pathlib import Path

from tonewatch.flows.ingest_config import SourceSpec
from tonewatch.flows.units import expand_file_sources, group_files

# A shard of 500 articles as the benchmark's generator writes them (3.7 kB an article).
SHARD_BYTES = 500 * 3_700


def _write(folder: Path, name: str, size: int) -> None:
    (folder / name).write_bytes(b"\n" * size)


def test_two_shards_of_500_articles_share_a_unit_and_a_third_starts_the_next(tmp_path: Path) -> None:
    for index in range(5):
        _write(tmp_path, f"shard-{index}.jsonl", SHARD_BYTES)

    files, rejects = expand_file_sources([SourceSpec(str(tmp_path))])
    units = group_files(files)

    assert rejects == []
    assert [[Path(f.path).name for f in unit] for unit in units] == [
        ["shard-0.jsonl", "shard-1.jsonl"],
        ["shard-2.jsonl", "shard-3.jsonl"],
        ["shard-4.jsonl"],
    ]


def test_a_file_larger_than_a_unit_is_a_unit_alone_and_the_order_is_kept(tmp_path: Path) -> None:
    _write(tmp_path, "a.jsonl", SHARD_BYTES)
    _write(tmp_path, "b.jsonl", 6 * SHARD_BYTES)  # a month's export in one file
    _write(tmp_path, "c.jsonl", 1_000)
    _write(tmp_path, "d.jsonl", 1_000)

    files, _ = expand_file_sources([SourceSpec(str(tmp_path))])
    units = group_files(files)

    assert [[Path(f.path).name for f in unit] for unit in units] == [
        ["a.jsonl"],
        ["b.jsonl"],
        ["c.jsonl", "d.jsonl"],
    ]
