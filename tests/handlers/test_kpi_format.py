"""How a KPI figure and its change read to a manager."""
import pytest

from handlers.kpi.blocks import group_label
from handlers.kpi.format import change, hours


@pytest.mark.parametrize("now, before, locale, expected", [
    (187.2, 126.8, "en", "▲ +2.5 d"),     # 7.8 d vs 5.3 d: the change in days, like the figure
    (10.0, 12.5, "en", "▼ −2.5 h"),
    (60.0, 60.0, "fr", "="),
    (100.0, 40.0, "fr", "▲ +2,5 j"),
])
def test_median_completion_change_is_in_the_same_unit_as_the_figure(now, before, locale, expected):
    assert change(now, before, locale, duration=True) == expected


def test_rates_change_in_points_and_counts_in_units():
    assert change(0.62, 0.5, "en", rate=True) == "▲ +12 pts"
    assert change(3, 7, "en") == "▼ −4"
    assert hours(187.2, "en") == "7.8 d"


@pytest.mark.parametrize("group_by, key, locale, expected", [
    ("channel", "store", "fr", "En magasin"),
    ("channel", "video", "en", "Video call"),
    ("type", "complaint", "fr", "Réclamation"),
    ("day", "2026-11-02", "fr", "2 nov. 2026"),
    ("employee", "Léa Martin", "fr", "Léa Martin"),
    ("channel", "fax", "en", "fax"),  # an imported channel the catalog does not know is shown as it is
])
def test_groups_read_in_the_readers_language(group_by, key, locale, expected):
    assert group_label(group_by, key, locale) == expected
