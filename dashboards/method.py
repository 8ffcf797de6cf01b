"""The report's Method section, in words an analyst can check. Pure: no I/O."""

from __future__ import annotations

from ..transforms.shifts import ALPHA, MIN_DELTA, MIN_SIDE_STATEMENTS
from .evidence import esc


def method_html(granularity: str, *, min_statements: int) -> str:
    """The folded Method section: how a statement, a point, a band, a shift and the evidence are made."""
    n = min_statements
    return f"""<details class="method" id="method"><summary>Method: how a point, a band and a shift \
are computed</summary>
<p><b>Statement.</b> Each sentence that an article attributes to a speaker is scored with VADER on
the part that is about each actor it mentions; that score is the statement's tone toward the
target, from &minus;1 (hostile) to +1 (warm), and the statement is an edge from the speaker's bloc
to the target's bloc. Unattributed sentences are the outlet's own voice: they count in the outlet
framing figure, not as edges between blocs. Syndicated copies of one story count once unless the
report was made with <code>--count-duplicates</code>.</p>
<p><b>Point.</b> A point is the mean tone of the statements in its period (one
{esc(granularity)}, UTC; weeks start on Monday); n is how many statements it averages.</p>
<p><b>Band.</b> The 95% band is mean &plusmn; 1.96&middot;sd/&radic;n, a normal approximation
(no t correction); a single statement has no band. Points resting on fewer than {n} statements are
drawn faded and hollow, without lines or bands, and starred in the matrix: too few to call a tone.
Statements from one article are not independent, so bands are, if anything, too narrow.</p>
<p><b>Shift.</b> Each pair's statements are cut at period boundaries by binary segmentation:
the cut that best splits them into two means (the largest least-squares gain) is kept as a shift
if both sides hold at least {MIN_SIDE_STATEMENTS} statements, the means differ by at least
{MIN_DELTA:.2f}, and Welch's two-sided t-test p-value, multiplied by the number of cuts tried
(Bonferroni), is below {ALPHA:g}; then each side is searched again. A shift's size is the
difference of the means of the segments on either side of it; its dates are those segments'
periods; its evidence is the strongest statements in its direction in the first periods after it,
with one from before for contrast.</p>
<p><b>Evidence.</b> The table holds the strongest few sentences (by |score|) behind every point,
cell and bar; the store keeps all of them.</p>
</details>"""
