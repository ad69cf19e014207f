"""The trend chart: interactions per local day, and how many ended resolved; a PNG in memory.

Aggregates only (counts per day): no customer data is ever drawn.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from handlers.i18n import t
from store.kpi import TrendPoint


def trend_png(trend: list[TrendPoint], *, title: str, locale: str) -> bytes:
    figure = trend_figure(trend, title=title, locale=locale)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def trend_figure(trend: list[TrendPoint], *, title: str, locale: str) -> Figure:
    """The chart, laid out; the caller closes it (plt.close) once saved."""
    days = [f"{point.day:%d/%m}" for point in trend]
    interactions = [point.interactions for point in trend]
    resolved = [point.resolved for point in trend]
    figure, axes = plt.subplots(figsize=(8, 3.2), dpi=110)
    try:
        axes.bar(range(len(days)), interactions, color="#4a7bd0", label=t("kpi.chart_legend_current", locale))
        axes.plot(range(len(days)), resolved, color="#e08a1e", marker="o" if len(days) <= 31 else None,
                  label=t("kpi.chart_legend_resolved", locale))
        step = max(1, len(days) // 12)
        axes.set_xticks(range(0, len(days), step), [days[i] for i in range(0, len(days), step)], fontsize=8)
        axes.set_title(title, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        # Below the plot area, not over it: inside, the legend covered the tallest bars.
        axes.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
        figure.tight_layout()
    except BaseException:
        plt.close(figure)
        raise
    return figure
