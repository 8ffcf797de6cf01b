"""How file sources become units of work: about 1,000 articles of files each, in order."""

from __future__ import annotations

from pathlib import Path

from tonewatch.flows.ingest_config import SourceSpec
from tonewatch.flows.units import expand_file_sources, group_files, split_last_units
from tonewatch.transforms.records import RawArticle

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


def _names(units) -> list[list[str]]:
    return [
        [Path(f.path).name for f in files] if files else [a.title for a in fetched]
        for files, fetched in units
    ]


def test_the_last_units_of_a_pooled_run_are_split_in_two_so_workers_finish_together(tmp_path: Path) -> None:
    for index in range(8):
        _write(tmp_path, f"shard-{index}.jsonl", SHARD_BYTES)
    files, _ = expand_file_sources([SourceSpec(str(tmp_path))])
    units = [(group, []) for group in group_files(files)]

    split = split_last_units(units, 2)

    # Four units of two shards; the last two become four units of one, in the same order.
    assert _names(split) == [
        ["shard-0.jsonl", "shard-1.jsonl"],
        ["shard-2.jsonl", "shard-3.jsonl"],
        ["shard-4.jsonl"],
        ["shard-5.jsonl"],
        ["shard-6.jsonl"],
        ["shard-7.jsonl"],
    ]
    # Every file is read exactly once.
    assert sorted(f.path for group, _ in split for f in group) == sorted(f.path for f in files)


def test_a_unit_of_one_file_stays_whole_and_fetched_articles_are_cut_in_the_middle(tmp_path: Path) -> None:
    _write(tmp_path, "month.jsonl", 6 * SHARD_BYTES)
    files, _ = expand_file_sources([SourceSpec(str(tmp_path))])
    fetched = [
        RawArticle(
            source="feed",
            url=f"https://example.org/{i}",
            outlet=None,
            published_at=None,
            title=f"t{i}",
            text="x",
        )
        for i in range(5)
    ]
    units = [((files[0],), []), ((), fetched)]

    split = split_last_units(units, 4)  # more workers than units: every unit is split

    assert _names(split) == [["month.jsonl"], ["t0", "t1", "t2"], ["t3", "t4"]]
    assert split_last_units([], 2) == []
