"""Profile page layout: what the column table shows."""

from components.ids import Profile
from components.profile import columns_card


def find(component, ident):
    """Return the component with id ``ident`` inside ``component``."""
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found = find(child, ident)
            if found is not None:
                return found
    return None


def test_pl001_date_columns_show_their_first_and_last_day_as_dates():
    columns = [
        {
            "name": "d",
            "dtype": "datetime64[us]",
            "semantic": "datetime",
            "missing_pct": 0,
            "unique": 2,
            "min": "2024-01-05T00:00:00",
            "max": "2024-03-01T12:30:00",
        },
        {
            "name": "x",
            "dtype": "int8",
            "semantic": "numeric",
            "missing_pct": 0,
            "unique": 3,
            "min": 1,
            "max": 3,
            "mean": 2.0,
        },
    ]
    grid = find(columns_card(columns), Profile.COLUMNS_GRID)
    dates, numbers = grid.rowData
    assert (dates["min"], dates["max"]) == ("2024-01-05", "2024-03-01T12:30:00")
    assert (numbers["min"], numbers["mean"]) == (1, 2.0)
    # the number formatter leaves text (dates) as it is instead of printing NaN
    formatter = {c["field"]: c for c in grid.columnDefs}["min"]["valueFormatter"]["function"]
    assert formatter == "formatNumber(params.value, d3)"
