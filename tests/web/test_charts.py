"""The inline SVG charts (web/charts.py): colours, gaps, scales, escaping."""

from __future__ import annotations

from web.charts import bars, line, scale_top


def test_bars_colour_by_share_and_draw_missing_hours_grey() -> None:
    svg = bars([1.0, 0.6, 0.1, None], ["a", "b", "c", "d"], "Báo cáo")
    fills = [part.split('"')[0] for part in svg.split('fill="')[1:]]
    assert fills == ["#1e7d3a", "#b26a00", "#b3261e", "#c3cad3"]
    assert svg.count("<rect") == 4
    assert 'aria-label="Báo cáo"' in svg


def test_chart_texts_are_escaped() -> None:
    svg = bars([0.5], ["<script>x</script>"], 'a"b')
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'aria-label="a&quot;b"' in svg
    drawn = line([1.0], ["<b>"], "<i>", 10.0)
    assert "<b>" not in drawn
    assert "<i>" not in drawn


def test_line_breaks_at_gaps_and_puts_a_point_per_value() -> None:
    svg = line([1.0, 2.0, None, 3.0, 4.0], list("abcde"), "ms", 5.0)
    assert svg.count("<circle") == 4
    assert svg.count("<polyline") == 2  # one run before the gap, one after
    lone = line([1.0, None, 2.0], list("abc"), "ms", 5.0)
    assert lone.count("<polyline") == 0  # single points have no line to draw
    assert lone.count("<circle") == 2


def test_scale_top_is_fixed_or_a_round_number_above_the_highest() -> None:
    assert scale_top([30.0, None], 100.0) == 100.0
    assert scale_top([400.0, 120.0, None]) == 500.0
    assert scale_top([91.0]) == 200.0  # 91 × 1.1 does not fit under 100
    assert scale_top([None, None]) == 1.0
    assert scale_top([20_000.0]) == 22_000.0
