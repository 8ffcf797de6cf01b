"""The report in a real headless Chromium: it draws, it loads nothing, its controls work.

Chromium comes from the system packages (.ci/run installs it) and is driven by Playwright's
Python package; Playwright's own browser downloads are never used. Without Chromium these
tests skip, except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_corpus import Statement, at, edges_and_tones, golden_corpus, synthetic_corpus, write_store

from tonewatch.dashboards.report import render_report_html, write_report
from tonewatch.dashboards.style import BlocStyle
from tonewatch.flows.reporting import ReportOptions, assemble_report, build_report

IS_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIGURE_IDS = (
    "figure-bloc-tone",
    "figure-dyad-matrix",
    "figure-dyad-timeline",
    "figure-outlet-framing",
    "figure-actor-leaderboard",
)
MAX_REPORT_BYTES = 15 * 1024 * 1024
HOSTILE_TITLE = '<script>window.__xss = "title"; alert("title")</script>'
HOSTILE_SENTENCE = "<img src=x onerror=\"window.__xss = 'img'; alert('img')\"> Peskov said it was a trap."
ALL_FIGURES_DRAWN = """
ids => ids.every(id => {
  const gd = document.getElementById(id);
  return gd && gd._fullLayout && gd.querySelector(".main-svg");
})
"""
FIGURE_MARKS = """
id => {
  const gd = document.getElementById(id);
  const box = gd.querySelector(".main-svg").getBoundingClientRect();
  const marks = gd.querySelectorAll(".scatterlayer .point, .barlayer .point, .heatmaplayer image").length;
  const noData = Array.from(gd.querySelectorAll(".annotation-text")).some(a => a.textContent === "no data");
  return {width: box.width, height: box.height, marks: marks, noData: noData};
}
"""
VISIBLE_ROWS = """
() => Array.from(document.querySelectorAll("#evidence-table tbody tr"))
  .filter(row => !row.hidden)
  .map(row => ({...row.dataset, text: row.textContent}))
"""


def find_chromium() -> str | None:
    for candidate in (os.environ.get("TONEWATCH_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def unavailable(reason: str) -> None:
    if IS_CI:
        pytest.fail(f"{reason}: CI=true needs the browser tests (.ci/run installs chromium)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    executable = find_chromium()
    if executable is None:
        unavailable("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Loaded:
    """A report open in a page, with everything it logged, asked for and popped up."""

    page: object
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_report(browser):
    contexts = []

    def load(path: Path) -> Loaded:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        contexts.append(context)
        page = context.new_page()
        loaded = Loaded(page)
        page.on("console", lambda message: loaded.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: loaded.errors.append(str(error)))

        def on_dialog(dialog) -> None:
            loaded.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

        def on_route(route) -> None:
            # Every request is seen here; only the report file itself may load.
            loaded.requests.append(route.request.url)
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                route.abort()

        page.route("**/*", on_route)
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(ALL_FIGURES_DRAWN, arg=list(FIGURE_IDS), timeout=30_000)
        return loaded

    yield load
    for context in contexts:
        context.close()


def hostile_corpus() -> list[Statement]:
    corpus = golden_corpus()
    corpus.append(
        Statement(
            at("2025-02-19"), "peskov", "trump", -0.7, sentence=HOSTILE_SENTENCE, title=HOSTILE_TITLE,
            url="javascript:window.__xss = 'link'",
        )
    )  # fmt: skip
    corpus.append(Statement(at("2025-02-20"), None, "putin", -0.5, outlet="Sample Kyiv Daily"))
    return corpus


@pytest.fixture(scope="module")
def report_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    db_path = write_store(folder / "tonewatch.duckdb", hostile_corpus())
    path, _ = build_report(db_path, folder / "reports" / "latest.html", granularity="week")
    return path


@pytest.fixture
def report(open_report, report_path) -> Loaded:
    return open_report(report_path)


def leaving_requests(loaded: Loaded) -> list[str]:
    return [url for url in loaded.requests if not url.startswith(("file://", "data:", "blob:"))]


def test_report_loads_with_no_console_errors_and_no_network(report):
    assert report.errors == []
    assert [line for line in report.console if line.startswith(("error", "warning"))] == []
    assert leaving_requests(report) == []
    assert report.requests[0].startswith("file://")


@pytest.mark.parametrize("figure_id", FIGURE_IDS)
def test_every_figure_draws_a_non_empty_plot_area(report, figure_id):
    drawn = report.page.evaluate(FIGURE_MARKS, figure_id)
    assert drawn["width"] > 300 and drawn["height"] > 200
    assert drawn["marks"] > 0
    assert not drawn["noData"]


def matrix_state(page) -> dict:
    return page.evaluate(
        """() => {
          const gd = document.getElementById("figure-dyad-matrix");
          return {
            z: JSON.stringify(gd.data[0].z),
            title: gd.layout.title.text,
            cells: Array.from(gd.querySelectorAll(".heatmaplayer text, .textpoint text"))
              .map(t => t.textContent).join("|"),
          };
        }"""
    )


def test_period_slider_changes_the_matrix(report):
    page = report.page
    before = matrix_state(page)
    rail = page.locator("#figure-dyad-matrix .slider-rail-touch-rect")
    rail.scroll_into_view_if_needed()
    box = rail.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "title => document.getElementById('figure-dyad-matrix').layout.title.text !== title",
        arg=before["title"],
    )
    after = matrix_state(page)
    assert after["title"] == "Who speaks of whom: mean tone, week of 3 Mar 2025"
    assert after["z"] != before["z"]
    assert after["cells"] != before["cells"]
    assert report.errors == []


def click_matrix_cell(page, source_index: int, target_index: int) -> None:
    page.locator("#figure-dyad-matrix").scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([row, column]) => {
          const gd = document.getElementById("figure-dyad-matrix");
          const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          return [box.left + xa._offset + xa.l2p(column), box.top + ya._offset + ya.l2p(row)];
        }""",
        [source_index, target_index],
    )
    page.mouse.click(x, y)


def test_clicking_a_matrix_cell_shows_its_evidence(report):
    page = report.page
    # Rows and columns in bloc order: washington, moscow, kyiv, europe.
    click_matrix_cell(page, 1, 0)
    page.wait_for_selector("#evidence-active:not([hidden])")
    assert page.locator("#evidence-active-label").text_content() == "Moscow → Washington, whole period"
    rows = page.evaluate(VISIBLE_ROWS)
    assert rows and {(row["source"], row["target"]) for row in rows} == {("moscow", "washington")}
    page.click("#evidence-clear")
    assert len(page.evaluate(VISIBLE_ROWS)) > len(rows)


@pytest.mark.parametrize(
    ("figure_id", "marks"),
    [
        ("figure-bloc-tone", ".scatterlayer .point"),
        ("figure-dyad-timeline", ".scatterlayer .point"),
        ("figure-outlet-framing", ".barlayer .point path"),
        ("figure-actor-leaderboard", ".barlayer .point path"),
    ],
)
def test_clicking_a_point_of_any_figure_shows_its_evidence(report, figure_id, marks):
    page = report.page
    page.locator(f"#{figure_id}").scroll_into_view_if_needed()
    point = page.locator(f"#{figure_id} {marks}").first
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#evidence-active:not([hidden])")
    assert page.locator("#evidence-active-label").text_content()
    assert page.evaluate(VISIBLE_ROWS), "a point with no sentence behind it"


def test_a_shift_card_button_shows_the_evidence_after_the_shift(report):
    page = report.page
    page.click("button.show-evidence")
    rows = page.evaluate(VISIBLE_ROWS)
    assert rows
    assert {(row["source"], row["target"]) for row in rows} == {("moscow", "washington")}
    assert min(row["date"] for row in rows) >= "2025-02-17"
    assert "after the shift" in page.locator("#evidence-active-label").text_content()


def test_table_sorts_by_score_and_filters_by_search_and_selects(report):
    page = report.page
    page.click('button[data-sort="score"]')
    scores = [float(row["score"]) for row in page.evaluate(VISIBLE_ROWS)]
    assert scores == sorted(scores, reverse=True)
    page.click('button[data-sort="score"]')
    scores = [float(row["score"]) for row in page.evaluate(VISIBLE_ROWS)]
    assert scores == sorted(scores)
    page.fill("#evidence-search", "we are ready")
    rows = page.evaluate(VISIBLE_ROWS)
    assert len(rows) == 1 and "Peskov said" in rows[0]["text"]
    page.click("#evidence-reset")
    page.select_option("#evidence-home", "kyiv")
    rows = page.evaluate(VISIBLE_ROWS)
    assert rows and {row["home"] for row in rows} == {"kyiv"}
    assert "Showing" in page.locator("#evidence-count").text_content()


def test_hostile_title_sentence_and_link_do_not_execute(report):
    page = report.page
    page.click("#evidence-reset")
    page.fill("#evidence-search", "trap")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__xss") is None
    assert report.dialogs == []
    row = page.locator("#evidence-table tbody tr:not([hidden])")
    assert row.count() == 1
    assert HOSTILE_SENTENCE in row.locator("td.sentence").text_content()
    assert HOSTILE_TITLE in row.locator("td.article").text_content()
    assert row.locator("td.article a").count() == 0  # a javascript: URL is not linked
    assert report.errors == []


BLOCS = (
    BlocStyle("washington", "Washington", "#0072B2"),
    BlocStyle("moscow", "Moscow", "#D55E00"),
    BlocStyle("kyiv", "Kyiv", "#009E73"),
    BlocStyle("europe", "Europe", "#CC79A7"),
)


@pytest.mark.slow
def test_report_for_100000_edges_stays_small_and_renders(open_report, tmp_path):
    started = time.perf_counter()
    edges, tones = edges_and_tones(synthetic_corpus(100_000))
    assert edges.height == 100_000
    stats = {"articles": 44_444, "outlets": 5, "sentences": 133_333, "period_start": None, "period_end": None}
    data = assemble_report(
        edges,
        tones,
        stats={**stats, "scorer_version": "sv-synthetic"},
        blocs=BLOCS,
        options=ReportOptions(),
        generated_at=datetime(2025, 1, 6, tzinfo=UTC),
    )
    assert data.shifts["source_bloc"].to_list()[:1] == ["moscow"]  # the planted thaw is found
    path = write_report(data, tmp_path / "big.html")
    size = path.stat().st_size
    assert size < MAX_REPORT_BYTES, f"{size / 1e6:.1f} MB"
    loaded = open_report(path)
    for figure_id in FIGURE_IDS:
        drawn = loaded.page.evaluate(FIGURE_MARKS, figure_id)
        assert drawn["marks"] > 0, figure_id
    assert loaded.errors == [] and leaving_requests(loaded) == []
    assert loaded.page.locator("#evidence-table tbody tr").count() == data.evidence.height
    assert time.perf_counter() - started < 60


def test_render_is_the_same_document_that_is_written(tmp_path):
    edges, tones = edges_and_tones([replace(s, title="t") for s in golden_corpus()[:5]])
    stats = {"articles": 5, "outlets": 1, "sentences": 5, "period_start": None, "period_end": None}
    data = assemble_report(
        edges, tones, stats={**stats, "scorer_version": "x"}, blocs=BLOCS, options=ReportOptions(),
        generated_at=datetime(2025, 1, 6, tzinfo=UTC),
    )  # fmt: skip
    path = write_report(data, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == render_report_html(data)


@pytest.mark.parametrize(
    ("is_ci", "outcome"), [(False, pytest.skip.Exception), (True, pytest.fail.Exception)]
)
def test_missing_chromium_skips_outside_ci_and_fails_in_ci(monkeypatch, is_ci, outcome):
    monkeypatch.setattr(sys.modules[__name__], "IS_CI", is_ci)
    with pytest.raises(outcome, match="no Chromium"):
        unavailable("no Chromium at /usr/bin/chromium")
