"""The report's stylesheet and its one small script (sorting, filtering, figure clicks).

Pure constants. The script only reads the page: it loads nothing and sends nothing, and it
puts text on the page with textContent, never as markup.
"""

from __future__ import annotations

from .evidence import SHOWN_ROWS

REPORT_SCRIPT = """
(function () {
  "use strict";
  var SHOWN_ROWS = __SHOWN_ROWS__;
  var table = document.getElementById("evidence-table");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  rows.forEach(function (row) { row.searchText = row.textContent.toLowerCase(); });
  var state = {query: "", source: "", target: "", home: "", figure: null, key: "strength", dir: -1};
  var byId = function (id) { return document.getElementById(id); };
  var count = byId("evidence-count"), active = byId("evidence-active");

  function parseSpec(text) {
    if (typeof text !== "string" || text.indexOf("=") < 0) { return null; }
    var spec = {};
    new URLSearchParams(text).forEach(function (value, key) { spec[key] = value; });
    return spec;
  }

  function matchesFigure(data, spec) {
    if (!spec) { return true; }
    if (spec.source && data.source !== spec.source) { return false; }
    if (spec.target && data.target !== spec.target) { return false; }
    if (spec.home && data.home !== spec.home) { return false; }
    if (spec.speaker && data.speaker !== spec.speaker) { return false; }
    if (spec.target_actor && data.targetActor !== spec.target_actor) { return false; }
    if (spec.statements === "1" && data.kind !== "statement") { return false; }
    if (spec.since && data.date < spec.since) { return false; }
    if (spec.until && data.date >= spec.until) { return false; }
    return true;
  }

  function matches(row) {
    var data = row.dataset;
    return matchesFigure(data, state.figure) &&
      (!state.source || data.source === state.source) &&
      (!state.target || data.target === state.target) &&
      (!state.home || data.home === state.home) &&
      (!state.query || row.searchText.indexOf(state.query) >= 0);
  }

  function apply() {
    if (!table) { return; }
    var matched = 0;
    rows.forEach(function (row) {
      var isMatch = matches(row);
      if (isMatch) { matched += 1; }
      row.hidden = !(isMatch && matched <= SHOWN_ROWS);
    });
    var shown = Math.min(matched, SHOWN_ROWS);
    count.textContent = matched === 0 ? "No sentence matches; clear a filter." :
      "Showing " + shown.toLocaleString("en") + " of " + matched.toLocaleString("en") +
      " matching sentences" + (matched > shown ? " (refine the filters to see the rest)." : ".");
    active.hidden = !state.figure;
    byId("evidence-active-label").textContent = state.figure ? (state.figure.label || "selection") : "";
  }

  function sortValue(row, key) {
    var data = row.dataset;
    if (key === "score") { return parseFloat(data.score || "0"); }
    if (key === "strength") { return Math.abs(parseFloat(data.score || "0")); }
    if (key === "date") { return data.time || ""; }
    var cell = row.querySelector("td." + key);
    return cell ? cell.textContent.toLowerCase() : "";
  }

  function sortBy(key) {
    state.dir = state.key === key ? -state.dir : (key === "date" || key === "score" ? -1 : 1);
    state.key = key;
    var dir = state.dir;
    rows.sort(function (a, b) {
      var x = sortValue(a, key), y = sortValue(b, key);
      return x < y ? -dir : x > y ? dir : 0;
    });
    var body = table.tBodies[0];
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th").forEach(function (th) { th.removeAttribute("aria-sort"); });
    var button = table.querySelector('button[data-sort="' + key + '"]');
    if (button) { button.parentNode.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending"); }
    apply();
  }

  function showSpec(spec) {
    if (!spec || !table) { return; }
    state.figure = spec;
    apply();
    var section = table.closest("section");
    if (section && section.scrollIntoView) { section.scrollIntoView({block: "start"}); }
  }

  function bindFigures() {
    document.querySelectorAll(".plotly-graph-div").forEach(function (gd) {
      if (!gd.on || gd.dataset.evidenceBound) { return; }
      gd.dataset.evidenceBound = "1";
      gd.on("plotly_click", function (event) {
        var point = event && event.points && event.points[0];
        if (!point) { return; }
        var data = point.customdata;
        showSpec(parseSpec(Array.isArray(data) ? data[data.length - 1] : data));
      });
    });
  }

  if (table) {
    byId("evidence-search").addEventListener("input", function (event) {
      state.query = event.target.value.trim().toLowerCase();
      apply();
    });
    ["source", "target", "home"].forEach(function (name) {
      byId("evidence-" + name).addEventListener("change", function (event) {
        state[name] = event.target.value;
        apply();
      });
    });
    byId("evidence-clear").addEventListener("click", function () { state.figure = null; apply(); });
    byId("evidence-reset").addEventListener("click", function () {
      state.figure = null; state.query = ""; state.source = ""; state.target = ""; state.home = "";
      ["search", "source", "target", "home"].forEach(function (name) {
        byId("evidence-" + name).value = "";
      });
      apply();
    });
    table.querySelectorAll("button[data-sort]").forEach(function (button) {
      button.addEventListener("click", function () { sortBy(button.dataset.sort); });
    });
    document.querySelectorAll("button.show-evidence").forEach(function (button) {
      button.addEventListener("click", function () { showSpec(parseSpec(button.dataset.filter)); });
    });
    apply();
  }
  bindFigures();
  window.addEventListener("load", bindFigures);
  window.tonewatchReport = {showSpec: showSpec, state: state};
})();
""".replace("__SHOWN_ROWS__", str(SHOWN_ROWS))

REPORT_CSS = """
:root { color-scheme: light; --ink: #222; --muted: #5f6368; --rule: #e3e3e3; }
* { box-sizing: border-box; }
body { margin: 0; background: #fafafa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header { border-bottom: 1px solid var(--rule); margin-bottom: 16px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 0 0 4px; }
.period, .meta, .filters { color: var(--muted); margin: 4px 0; }
.counts { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.count { background: #fff; border: 1px solid var(--rule); border-radius: 6px; padding: 6px 14px; }
.count dt { font-size: .75rem; text-transform: uppercase; color: var(--muted); }
.count dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
nav.toc { font-size: .9rem; margin: 8px 0 0; }
nav.toc a { margin-right: 14px; }
section { background: #fff; border: 1px solid var(--rule); border-radius: 8px;
  padding: 16px; margin: 16px 0; }
section.summary { border-left: 4px solid #0b57d0; }
section.summary ul { margin: 6px 0 0; padding-left: 20px; }
section.summary li { margin: 4px 0; }
.table-wrap { max-height: 720px; overflow: auto; border: 1px solid var(--rule); border-radius: 6px; }
table { width: 100%; border-collapse: collapse; font-size: .88rem; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px;
  border-bottom: 1px solid var(--rule); }
th { position: sticky; top: 0; background: #f4f6f8; z-index: 1; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button::after { content: " \\2195"; color: #aaa; }
th[aria-sort="ascending"] button::after { content: " \\2191"; color: var(--ink); }
th[aria-sort="descending"] button::after { content: " \\2193"; color: var(--ink); }
td.date { white-space: nowrap; }
.score { font-weight: 600; font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
.pos { color: #1a7f37; } .neg { color: #c62828; } .zero { color: var(--muted); }
td.sentence { max-width: 34em; }
.home, .voice { color: var(--muted); font-size: .78rem; }
.home { display: block; }
.bloc { display: inline-block; font-size: .75rem; padding: 0 6px; border-radius: 9px;
  border: 1px solid var(--bloc); color: var(--bloc); white-space: nowrap; }
.controls { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: end; margin: 8px 0; }
.controls label { font-size: .85rem; color: var(--muted); display: flex; flex-direction: column; }
.controls input, .controls select { font: inherit; padding: 4px 6px; min-width: 11em; }
button { font: inherit; cursor: pointer; }
.active-filter { background: #fff8e1; border: 1px solid #f0d27a; border-radius: 6px;
  padding: 4px 10px; display: inline-block; }
.count, .note { color: var(--muted); font-size: .85rem; margin: 6px 0; }
.caption { color: var(--muted); font-size: .85rem; margin: 4px 8px 0; }
article.shift { border-top: 1px solid var(--rule); padding: 10px 0; }
article.shift.up h3::before { content: "\\25B2 "; color: #1a7f37; }
article.shift.down h3::before { content: "\\25BC "; color: #c62828; }
.facts { color: var(--muted); font-size: .85rem; margin: 0 0 6px; }
ul.quotes { margin: 0 0 6px; padding-left: 18px; font-size: .9rem; }
ul.quotes .role { font-size: .75rem; text-transform: uppercase; color: var(--muted); }
ul.quotes .who { color: var(--muted); }
details.method { margin: 16px 0; color: #333; background: #fff; border: 1px solid var(--rule);
  border-radius: 8px; padding: 12px 16px; }
details.method summary { cursor: pointer; font-weight: 600; }
a { color: #0b57d0; }
"""
