"""RFM segmentation (DOMAIN.md, Scores): the widely used R x F segment map.

Scores 1-5 come from rank-based quintiles in SQL (``sql/scoring/rfm_scores.sql``:
``floor(5 * share of buyers strictly below) + 1``, so equal values always get equal
scores). This module holds the segment grid, shared by the SQL (as a lookup table) and
by tests.
"""

from __future__ import annotations

from lifecycle_pipeline.vocabulary import RFM_SEGMENTS

# rows: R score 5..1; columns: F score 1..5
_GRID = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal_customers", "loyal_customers"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
}

SEGMENTS = RFM_SEGMENTS
assert set(SEGMENTS) == {s for row in _GRID.values() for s in row}, "vocabulary.RFM_SEGMENTS must match the grid"


def segment_for(r_score: int, f_score: int) -> str:
    """Segment of an (R, F) cell; both scores 1-5."""
    if r_score not in _GRID or not 1 <= f_score <= 5:
        raise ValueError(f"RFM scores must be 1-5, got R={r_score} F={f_score}")
    return _GRID[r_score][f_score - 1]


def segment_rows() -> list[tuple[int, int, str]]:
    """All 25 (r_score, f_score, segment) cells, for the SQL lookup table."""
    return [(r, f, segment_for(r, f)) for r in range(1, 6) for f in range(1, 6)]
