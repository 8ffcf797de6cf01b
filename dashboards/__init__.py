"""Plotly figures and the offline HTML report, drawn from aggregated frames; never scores."""
