"""The report end to end on a small fixed corpus: the summary's words, the command's options."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_corpus import Statement, at, edges_and_tones, golden_corpus, write_store
from typer.testing import CliRunner

from tonewatch.dashboards.style import BlocStyle
from tonewatch.dashboards.summary import summary_lines
from tonewatch.flows.cli import app
from tonewatch.flows.reporting import ReportOptions, assemble_report, build_report, prune_dated_reports

BLOCS = (
    BlocStyle("washington", "Washington", "#0072B2"),
    BlocStyle("moscow", "Moscow", "#D55E00"),
    BlocStyle("kyiv", "Kyiv", "#009E73"),
    BlocStyle("europe", "Europe", "#CC79A7"),
)
STATS = {
    "articles": 70,
    "outlets": 4,
    "sentences": 70,
    "period_start": None,
    "period_end": None,
    "scorer_version": "sv-test",
}
GOLDEN_SUMMARY = [
    "Moscow → Washington rose from −0.21 to +0.34 in the week of 17 Feb 2025; 23 statements since,"
    ' 20 before; top evidence: “"We are ready to work with Washington," Peskov said.”'
    " (Dmitry Peskov, Sample Moscow Wire, 18 Feb 2025).",
    "Over the whole period the coldest pair is Washington → Moscow −0.30 (24 statements);"
    " the warmest is Moscow → Washington +0.08 (43 statements).",
]
runner = CliRunner()


def summary_of(statements: list[Statement], **options) -> list[str]:
    edges, tones = edges_and_tones(statements)
    data = assemble_report(
        edges,
        tones,
        stats=STATS,
        blocs=BLOCS,
        options=ReportOptions(**options),
        generated_at=datetime(2025, 3, 10, tzinfo=UTC),
    )
    return summary_lines(
        data.shifts, data.shift_evidence, data.dyad_totals, BLOCS, granularity=data.granularity
    )


def test_golden_summary_of_the_fixed_corpus():
    assert summary_of(golden_corpus(), granularity="week") == GOLDEN_SUMMARY


def test_auto_granularity_picks_weeks_for_two_months_of_statements():
    assert summary_of(golden_corpus()) == GOLDEN_SUMMARY


def test_summary_says_so_when_nothing_shifted():
    steady = [s for s in golden_corpus() if s.speaker == "rubio"]
    assert summary_of(steady, granularity="week") == [
        "No shift in the tone between two blocs passed the test (a change of at least 0.15 with at least"
        " 10 statements on each side, p < 0.01).",
        "Only one pair of blocs has 5 or more statements: Washington → Moscow −0.30 (24 statements).",
    ]


def test_summary_of_an_empty_period():
    assert summary_of(golden_corpus(), since=at("2030-01-01")) == [
        "No statements between blocs in this period."
    ]


def test_daily_granularity_names_the_day():
    (first, _) = summary_of(golden_corpus(), granularity="day")
    assert first.startswith("Moscow → Washington rose from −0.21 to +0.34 on 17 Feb 2025;")


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory) -> Path:
    corpus = golden_corpus()
    # A syndicated copy of the Peskov quote: the same story in a second outlet counts once.
    peskov = next(i for i, s in enumerate(corpus) if s.speaker == "peskov")
    corpus.append(replace(corpus[peskov], outlet="Sample Brussels Review", url=None, copy_of=peskov))
    return write_store(tmp_path_factory.mktemp("golden") / "golden.duckdb", corpus)


class _Summary(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside, self.items, self.edges = False, [], ""
        self._in_item = False

    def handle_starttag(self, tag, attrs):
        if tag == "section" and ("class", "summary") in attrs:
            self.inside = True
        self._in_item = self.inside and tag == "li"
        if self._in_item:
            self.items.append("")

    def handle_endtag(self, tag):
        if tag == "section":
            self.inside = False
        if tag == "li":
            self._in_item = False

    def handle_data(self, data):
        if self._in_item:
            self.items[-1] += data


def report_summary(path: Path) -> list[str]:
    parser = _Summary()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.items


def test_report_from_the_store_has_the_golden_summary(golden_store, tmp_path):
    out, _ = build_report(golden_store, tmp_path / "latest.html")
    assert report_summary(out) == GOLDEN_SUMMARY
    html = out.read_text(encoding="utf-8")
    assert re.search(r"<dt>Edges</dt><dd>68</dd>", html)  # the copy's edge is not counted
    assert "Scorer version <code>sv-test</code>" in html


def test_count_duplicates_counts_the_copy(golden_store, tmp_path):
    out, _ = build_report(golden_store, tmp_path / "latest.html", count_duplicates=True)
    assert "<dt>Edges</dt><dd>69</dd>" in out.read_text(encoding="utf-8")


def test_report_command_writes_latest_and_a_dated_copy(golden_store, tmp_path):
    out = tmp_path / "reports" / "latest.html"
    result = runner.invoke(app, ["report", "--db", str(golden_store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"report: {out}\n"
    (dated,) = out.parent.glob("tonewatch-*.html")
    assert re.fullmatch(r"tonewatch-\d{4}-\d{2}-\d{2}T\d{6}Z\.html", dated.name)
    assert dated.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_report_command_options_select_blocs_actors_period_and_granularity(golden_store, tmp_path):
    out = tmp_path / "only.html"
    args = ["report", "--db", str(golden_store), "--out", str(out), "--blocs", "moscow,washington"]
    args += ["--actors", "putin", "--actors", "peskov", "--since", "2025-02-17", "--until", "2025-03-01"]
    args += ["--granularity", "day"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Only statements between Moscow, Washington (--blocs)." in html
    assert "Only statements by or about putin, peskov (--actors)." in html
    assert "Period: 2025-02-17 – 2025-02-28 · points per day" in html
    window = [s for s in golden_corpus() if at("2025-02-17", 0) <= s.published_at < at("2025-03-01", 0)]
    by_or_about = [
        s for s in window if {s.speaker, s.target} & {"putin", "peskov"} and s.speaker != "zelensky"
    ]
    assert f"<dt>Edges</dt><dd>{len(by_or_about)}</dd>" in html  # Zelensky → Putin: Kyiv is left out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--blocs", "moskow", "--blocs: unknown 'moskow'; the store knows washington, moscow, kyiv, europe"),
        ("--actors", "putn", "--actors: unknown 'putn'"),
        ("--granularity", "year", "expected auto, day, week or month, got 'year'"),
        ("--since", "17/02/2025", "expected a date like 2025-02-17"),
    ],
)
def test_report_command_bad_options_are_usage_errors(golden_store, tmp_path, option, value, message):
    args = ["report", "--db", str(golden_store), "--out", str(tmp_path / "x.html"), option, value]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    # Rich draws the usage error in a box: read its words only.
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert not (tmp_path / "x.html").exists()


def test_old_dated_reports_are_pruned_but_nothing_else(tmp_path):
    names = [f"tonewatch-2025-01-{day:02d}T120000Z.html" for day in range(1, 6)]
    for name in [*names, "latest.html", "tonewatch-notes.html"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    removed = prune_dated_reports(tmp_path, keep=2)
    assert [p.name for p in removed] == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names[3:], "latest.html", "tonewatch-notes.html"]
    )
