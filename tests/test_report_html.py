"""The HTML report: parses, holds all three figures, loads nothing, escapes every data string."""

from datetime import UTC, date, datetime
from html.parser import HTMLParser

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from tonewatch.dashboards.figures import MIN_STATEMENTS
from tonewatch.dashboards.report import (
    BlocStyle,
    ReportData,
    render_report_html,
    write_report,
)
from tonewatch.transforms.shifts import SHIFT_SCHEMA

SCRIPT_TITLE = "</script><script>alert(1)</script>"
IMG_SENTENCE = "<img src=x onerror=alert(1)>"
SAFE_URL = "https://example.org/news/1?a=1&b=2"
BAD_URL = "javascript:alert(1)"
FIGURE_IDS = (
    "figure-bloc-tone",
    "figure-dyad-matrix",
    "figure-dyad-timeline",
    "figure-outlet-framing",
    "figure-actor-leaderboard",
)
VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "area", "base", "col"}
# Attributes through which a browser fetches something by itself.
FETCHING = {"src", "srcset", "href", "poster", "data", "action", "formaction", "background"}

BLOCS = (
    BlocStyle("washington", "Washington", "#1f77b4"),
    BlocStyle("moscow", SCRIPT_TITLE, "#d62728"),
    BlocStyle("kyiv", "Kyiv", "#ffd500"),
)
WEEK_1, WEEK_2 = date(2025, 1, 6), date(2025, 1, 13)
SERIES = ["mean_tone", "n", "ci_low", "ci_high"]
EVIDENCE_COLUMNS = [
    "published_at",
    "outlet",
    "outlet_home",
    "title",
    "url",
    "sentence",
    "speaker",
    "source_actor",
    "source_bloc",
    "target",
    "target_actor",
    "target_bloc",
    "score",
    "kind",
]


class Page(HTMLParser):
    """Collects tags, scripts, styles and visible text, and checks that tags nest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.href = ""
        self.open: list[str] = []
        self.has_doctype = False

    def handle_decl(self, decl: str) -> None:
        self.has_doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "a":
            self.href = dict(attrs).get("href") or ""
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data):
        inside = self.open[-1] if self.open else None
        if inside == "script":
            self.scripts.append(data)
        elif inside == "style":
            self.styles.append(data)
        else:
            self.text.append(data)
            if inside == "a":
                self.links.append((self.href, data))


def parse(document: str) -> Page:
    page = Page()
    page.feed(document)
    page.close()
    assert page.open == [], f"unclosed tags: {page.open}"
    return page


def series(rows, keys):
    schema = {"period": pl.Date, **dict.fromkeys(keys, pl.Utf8)}
    schema |= {"mean_tone": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64, "ci_high": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def evidence(*rows: tuple) -> pl.DataFrame:
    schema = dict.fromkeys(EVIDENCE_COLUMNS, pl.Utf8)
    schema |= {"published_at": pl.Datetime("us", "UTC"), "score": pl.Float64}
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def make_data(**changes) -> ReportData:
    when = datetime(2025, 1, 7, 9, 30, tzinfo=UTC)
    fields = {
        "title": SCRIPT_TITLE,
        "generated_at": datetime(2025, 2, 1, 12, 0, tzinfo=UTC),
        "scorer_version": "sv-1a2b",
        "period_start": WEEK_1,
        "period_end": WEEK_2,
        "articles": 1234,
        "outlets": 7,
        "sentences": 5678,
        "edges": 90,
        "blocs": BLOCS,
        "bloc_series": series(
            [
                (WEEK_1, "moscow", -0.3, 5, -0.5, -0.1),
                (WEEK_2, "moscow", -0.6, 2, None, None),
                (WEEK_1, "kyiv", 0.4, 7, 0.2, 0.6),
            ],
            ["target_bloc"],
        ),
        "dyad_series": series(
            [
                (WEEK_1, "moscow", "washington", -0.4, 5, -0.6, -0.2),
                (WEEK_1, "washington", "moscow", -0.2, 4, -0.3, -0.1),
                (WEEK_2, "moscow", "kyiv", -0.7, 2, -1.5, 0.1),
            ],
            ["source_bloc", "target_bloc"],
        ),
        "dyad_totals": pl.DataFrame(
            {
                "source_bloc": ["moscow", "washington", "kyiv"],
                "target_bloc": ["washington", "moscow", "washington"],
                "mean_tone": [-0.4, -0.2, 0.5],
                "n": [10, 4, 6],
            }
        ),
        "evidence": evidence(
            (when, "Wire", "moscow", SCRIPT_TITLE, SAFE_URL, IMG_SENTENCE, "Peskov", "peskov", "moscow",
             "Biden", "biden", "washington", -0.81, "statement"),
            (when, "Daily <i>", "kyiv", "Bad link", BAD_URL, "We welcome the talks.", "Zelensky",
             "zelensky", "kyiv", "Trump", "trump", "washington", 0.64, "statement"),
            (when, "Daily <i>", "kyiv", "Voice", None, "Washington dithers.", None, None, None,
             "Trump", "trump", "washington", -0.3, "sentence"),
        ),
    }  # fmt: skip
    return ReportData(**(fields | changes))


@pytest.fixture(scope="module")
def document() -> str:
    return render_report_html(make_data())


@pytest.fixture(scope="module")
def page(document) -> Page:
    return parse(document)


def test_report_parses_as_one_html_document(page):
    assert page.has_doctype
    assert [tag for tag, _ in page.tags[:3]] == ["html", "head", "meta"]
    assert sum(tag == "body" for tag, _ in page.tags) == 1


def test_report_holds_a_plotly_div_and_plot_call_for_each_figure(page):
    divs = {attrs.get("id") for tag, attrs in page.tags if tag == "div"}
    for figure_id in FIGURE_IDS:
        assert figure_id in divs
        assert any("Plotly.newPlot" in script and f'"{figure_id}"' in script for script in page.scripts)


def test_report_inlines_plotly_js_exactly_once(document, page):
    assert document.count(get_plotlyjs()) == 1
    # PlotlyConfig, plotly.js, one call per figure and the table's script: nothing else runs.
    assert len(page.scripts) == 2 + len(FIGURE_IDS) + 1


def test_report_fetches_nothing_from_any_host(document, page):
    assert "<script src" not in document.lower()
    assert not [tag for tag, _ in page.tags if tag in {"link", "img", "iframe", "object"}]
    for tag, attrs in page.tags:
        fetching = FETCHING & attrs.keys()
        if tag == "a":
            fetching -= {"href"}
        assert not fetching, f"<{tag}> has {fetching}"
        assert "url(" not in (attrs.get("style") or "")
    for css in page.styles:
        assert "@import" not in css and "url(" not in css
    figure_scripts = [s for s in page.scripts if "Plotly.newPlot" in s]
    assert figure_scripts and not [s for s in figure_scripts if "http" in s]


def test_figures_hide_plotlys_upload_to_cloud_button(page):
    # plotly.js 4 shows a "Share chart" button that sends the figure to cloud.plotly.com.
    figure_scripts = [s for s in page.scripts if "Plotly.newPlot" in s]
    assert len(figure_scripts) == len(FIGURE_IDS)
    for script in figure_scripts:
        assert '"showSendToCloud": false' in script
        assert '"sendChartToCloud"' in script


def test_only_http_evidence_links_carry_urls(page):
    assert [href for href, _ in page.links if not href.startswith("#")] == [SAFE_URL]
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if "http:" in (value or "") or "https:" in (value or ""):
                assert (tag, name, value) == ("a", "href", SAFE_URL)
    assert not [s for s in page.text if "http://" in s or "https://" in s]


def test_javascript_url_is_not_linked_but_its_title_is_shown(document, page):
    assert "javascript:" not in document.split("</head>", 1)[1]
    assert "Bad link" in page.text
    assert "Bad link" not in [text for _, text in page.links]


def test_script_title_appears_only_escaped(document, page):
    assert "</script><script>alert(1)" not in document
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert page.text.count(SCRIPT_TITLE) >= 3  # page title, heading, evidence link, bloc name
    assert not [s for s in page.scripts if "alert(1)" in s and "Plotly.newPlot" not in s]


def test_img_sentence_appears_only_escaped(document, page):
    assert IMG_SENTENCE not in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in document
    assert IMG_SENTENCE in page.text
    assert not [attrs for _, attrs in page.tags if "onerror" in attrs]


def test_header_shows_period_counts_scorer_and_generation_time(page):
    text = " ".join(page.text)
    assert "2025-01-06 – 2025-01-13" in text
    for count in ("1,234", "7", "5,678", "90"):
        assert count in page.text
    assert "sv-1a2b" in page.text
    assert "2025-02-01 12:00 UTC" in page.text


def test_evidence_rows_show_bloc_names_and_score_by_sign(page):
    cells = [attrs.get("class") or "" for tag, attrs in page.tags if tag == "td"]
    score_cells = [cell for cell in cells if cell.startswith("score")]
    assert score_cells == ["score neg", "score pos", "score neg"]
    assert [s for s in page.text if s in {"−0.81", "+0.64"}] == ["−0.81", "+0.64"]
    assert "Washington" in page.text and "Kyiv" in page.text
    assert "Daily <i>" in page.text


def test_method_section_explains_the_band(document):
    method = document.split('<details class="method"', 1)[1]
    assert "1.96" in method and "&radic;n" in method and f"fewer than {MIN_STATEMENTS}" in method
    assert "Welch" in method and "Bonferroni" in method


def test_empty_frames_still_give_a_valid_report_with_no_data_figures():
    empty = make_data(
        title="Quiet week",
        period_start=None,
        period_end=None,
        bloc_series=pl.DataFrame(),
        dyad_series=pl.DataFrame(),
        dyad_totals=pl.DataFrame(),
        evidence=evidence(),
    )
    page = parse(render_report_html(empty))
    figure_scripts = [s for s in page.scripts if "Plotly.newPlot" in s]
    assert len(figure_scripts) == len(FIGURE_IDS)
    assert all('"text":"no data"' in script for script in figure_scripts)
    assert "No shift in the tone between two blocs passed the test" in " ".join(page.text)
    assert "No attributed statements." in page.text


def test_render_is_pure_and_repeatable():
    assert render_report_html(make_data()) == render_report_html(make_data())


def test_report_data_rejects_a_naive_generation_time():
    with pytest.raises(ValueError, match="generated_at must be timezone-aware"):
        make_data(generated_at=datetime(2025, 2, 1, 12, 0))


def test_write_report_creates_parents_and_replaces_atomically(tmp_path):
    out = tmp_path / "reports" / "weekly" / "tone.html"
    data = make_data()
    assert write_report(data, out) == out
    assert out.read_text(encoding="utf-8") == render_report_html(data)
    write_report(make_data(title="Second run"), out)
    assert "<h1>Second run</h1>" in out.read_text(encoding="utf-8")
    assert [p.name for p in out.parent.iterdir()] == ["tone.html"]


def shift_data() -> ReportData:
    shift = {
        "shift_id": "shift-1", "source_bloc": "moscow", "target_bloc": "washington", "period": WEEK_2,
        "before_start": WEEK_1, "before_end": date(2025, 1, 12), "after_start": WEEK_2,
        "after_end": date(2025, 1, 19), "mean_before": -0.21, "mean_after": 0.34, "delta": 0.55,
        "n_before": 20, "n_after": 23, "p_value": 0.00002,
    }  # fmt: skip
    quotes = evidence(
        (datetime(2025, 1, 14, 8, tzinfo=UTC), "Wire", "moscow", "Thaw", SAFE_URL, IMG_SENTENCE, "Peskov",
         "peskov", "moscow", "Trump", "trump", "washington", 0.62, "statement"),
    ).with_columns(shift_id=pl.lit("shift-1"), role=pl.lit("after"))  # fmt: skip
    return make_data(shifts=pl.DataFrame([shift], schema=SHIFT_SCHEMA), shift_evidence=quotes)


def test_summary_names_the_biggest_shift_with_escaped_evidence():
    document = render_report_html(shift_data())
    summary = document.split('<section class="summary">', 1)[1].split("</section>", 1)[0]
    assert (
        "Moscow → Washington rose from −0.21 to +0.34 in the week of 13 Jan 2025;"
        " 23 statements since, 20 before; top evidence: “&lt;img src=x onerror=alert(1)&gt;”"
        " (Peskov, Wire, 14 Jan 2025)."
    ) in summary.replace(SCRIPT_TITLE_ESCAPED, "Moscow")


SCRIPT_TITLE_ESCAPED = "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


def test_shift_cards_give_dates_size_p_and_a_button_to_their_evidence():
    page = parse(render_report_html(shift_data()))
    text = "".join(page.text)
    assert "change +0.55 · before 6 Jan 2025 – 12 Jan 2025, n = 20" in text
    assert "after 13 Jan 2025 – 19 Jan 2025, n = 23 · p < 0.0001" in text
    (button,) = [attrs for tag, attrs in page.tags if tag == "button" and "data-filter" in attrs]
    assert (
        "source=moscow&target=washington&statements=1&since=2025-01-13&until=2025-01-20"
        in button["data-filter"]
    )


def test_evidence_rows_carry_what_the_filters_match():
    page = parse(render_report_html(make_data()))
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and "data-kind" in attrs]
    assert [(r["data-source"], r["data-target"], r["data-home"], r["data-kind"]) for r in rows] == [
        ("moscow", "washington", "moscow", "statement"),
        ("kyiv", "washington", "kyiv", "statement"),
        ("", "washington", "kyiv", "sentence"),
    ]
    assert rows[0]["data-date"] == "2025-01-07" and rows[0]["data-score"] == "-0.8100"
    assert rows[0]["data-speaker"] == "peskov" and rows[0]["data-target-actor"] == "biden"
    assert "outlet's own voice" in page.text


def test_evidence_table_has_search_selects_and_sortable_headings():
    page = parse(render_report_html(make_data()))
    ids = {attrs.get("id") for _, attrs in page.tags}
    assert {"evidence-search", "evidence-source", "evidence-target", "evidence-home", "evidence-count"} <= ids
    sort_keys = [attrs["data-sort"] for tag, attrs in page.tags if tag == "button" and "data-sort" in attrs]
    assert sort_keys == ["date", "outlet", "speaker", "target", "score"]
    options = [attrs["value"] for tag, attrs in page.tags if tag == "option"]
    assert options.count("washington") == 2 and "kyiv" in options


def test_filter_notes_are_shown_and_escaped():
    note = "Only statements by or about <u>putin</u> (--actors)."
    page = parse(render_report_html(make_data(filters=(note,))))
    assert note in page.text
    assert not [tag for tag, _ in page.tags if tag == "u"]
