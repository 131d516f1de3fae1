"""Shares for the choice comparison: one denominator for every network."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecircle.choices import share_within


def test_share_within_counts_all_people_and_reports_no_data_as_none() -> None:
    cells = pd.DataFrame({"minutes_to_clinic": [5.0, 20.0, np.nan, 15.0],
                          "minutes_to_park": [np.nan] * 4})
    people = np.array([100.0, 50.0, 25.0, np.nan])
    shares = share_within(cells, people, categories=("clinic", "park"), minutes=15)
    # 100 within 5 min; the 15-min cell has no people; the no-access cell's 25 stay in the denominator.
    assert shares == {"clinic": round(100 / 175, 4), "park": None}
