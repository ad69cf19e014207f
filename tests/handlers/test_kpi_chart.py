"""The trend chart's layout: the legend sits outside the plot area, so it never covers a bar."""
from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import pytest

from handlers.kpi.chart import trend_figure, trend_png
from store.kpi import TrendPoint


def _trend(days: int) -> list[TrendPoint]:
    start = dt.date(2026, 11, 1)
    # The tallest bars at both ends and in the middle: wherever a legend inside the axes went, it would cover one.
    return [TrendPoint(day=start + dt.timedelta(days=i), interactions=40 if i in (0, days // 2, days - 1) else 12,
                       resolved=8) for i in range(days)]


@pytest.mark.parametrize("days", [7, 31, 90])
def test_the_legend_is_drawn_outside_the_bars_and_inside_the_image(days):
    figure = trend_figure(_trend(days), title="Interactions, Floor team", locale="en")
    try:
        figure.canvas.draw()
        axes = figure.axes[0]
        legend = axes.get_legend().get_window_extent()
        plot_area = axes.get_window_extent()
        image = figure.bbox
        assert legend.y1 <= plot_area.y0  # wholly below the plot area
        day_labels = [label.get_window_extent() for label in axes.get_xticklabels() if label.get_text()]
        assert legend.y1 <= min(label.y0 for label in day_labels)  # and below the day labels
        assert image.x0 <= legend.x0 and legend.x1 <= image.x1 and image.y0 <= legend.y0  # not cut off
        assert len(axes.get_legend().get_texts()) == 2  # both series still named
    finally:
        plt.close(figure)


def test_the_png_is_a_png():
    assert trend_png(_trend(7), title="t", locale="en").startswith(b"\x89PNG")
