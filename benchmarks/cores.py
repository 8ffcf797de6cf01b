"""How much two cores of this machine give: raw VADER alone, then in two processes at once.

The two-worker target of issue 7 (end to end 1.7x one worker) cannot exceed what two
processes doing pure CPU work get from the machine. This measures it: the same sentences
through VADER in one process, then in two processes started together (a barrier lets them
begin at the same moment), `--rounds` times, and prints one `name: value` per line:

- `solo_seconds`: the median time of one process alone;
- `pair_seconds`: the median, over rounds, of the slower process of the pair;
- `pair_speedup`: 2 x solo_seconds / pair_seconds, the throughput of two processes over
  one (2.0 when two cores are fully independent).

    python benchmarks/cores.py [--sentences 80000] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate_corpus  # noqa: E402


def benchmark_sentences(count: int) -> list[str]:
    """``count`` sentences of the benchmark's generated corpus, split as the pipeline splits."""
    from tonewatch.transforms.split import split_sentences

    sentences: list[str] = []
    articles = max(10, count // 20)
    with tempfile.TemporaryDirectory() as folder:
        generate_corpus(Path(folder), articles)
        for shard in sorted(Path(folder).glob("*.jsonl")):
            for line in shard.read_text(encoding="utf-8").splitlines():
                sentences += [s.text for s in split_sentences(json.loads(line)["text"])]
    while len(sentences) < count:
        sentences += sentences
    return sentences[:count]


def vader_pass(sentences: list[str], barrier: Any, seconds: Any, slot: int) -> None:
    """Score every sentence once, starting when every process of the round is ready."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    barrier.wait()
    started = time.perf_counter()
    for sentence in sentences:
        analyzer.polarity_scores(sentence)
    seconds[slot] = time.perf_counter() - started


def timed_round(sentences: list[str], processes: int) -> float:
    """The slowest of ``processes`` VADER passes run at once, each in a fresh process."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    seconds = context.Array("d", processes)
    workers = [
        context.Process(target=vader_pass, args=(sentences, barrier, seconds, slot))
        for slot in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a VADER process failed with exit code {worker.exitcode}")
    return max(seconds[:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sentences", type=int, default=80_000, help="sentences per process (default 80,000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one process, then two (default 3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.sentences < 1 or args.rounds < 1:
        parser.error("--sentences and --rounds must be at least 1")
    sentences = benchmark_sentences(args.sentences)
    solo, pair = [], []
    for _ in range(args.rounds):  # interleaved, so that the machine's drift hits both alike
        solo.append(timed_round(sentences, 1))
        pair.append(timed_round(sentences, 2))
    figures = {
        "sentences": len(sentences),
        "rounds": args.rounds,
        "solo_seconds": round(statistics.median(solo), 3),
        "pair_seconds": round(statistics.median(pair), 3),
        "pair_speedup": round(2 * statistics.median(solo) / statistics.median(pair), 3),
        "pair_speedup_per_round": [round(2 * s / p, 3) for s, p in zip(solo, pair, strict=True)],
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
