"""Tables for the book: a sweep's final values, one table per sweep, with only the columns it varies."""

from __future__ import annotations

import html

import pandas as pd

from monosem.results import SweepResult

# How many decimals each column means: counts are integers, fractions of the feature count three places.
FORMATS = {
    "lr": "{:g}",
    "init_bias": "{:g}",
    "bias_decay": "{:g}",
    "eps": "{:.4g}",
    "l1": "{:g}",
    "seed": "{:d}",
    "# mono / # features": "{:.3f}",
    "final loss": "{:.4f}",
}


class Tables:
    """Several titled tables displayed as one HTML block (the value of a notebook cell)."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables

    def _repr_html_(self) -> str:
        parts = []
        for title, frame in self.tables.items():
            styler = (
                frame.style.hide(axis="index")
                .format({c: f for c, f in FORMATS.items() if c in frame.columns})
                .set_table_styles([{"selector": "td, th", "props": "padding: 0.1em 0.9em; text-align: right"}])
            )
            parts.append(f"<p><strong>{html.escape(title)}</strong></p>{styler.to_html()}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return "\n\n".join(f"{title}\n{frame.to_string(index=False)}" for title, frame in self.tables.items())


def summary_tables(results: dict[str, SweepResult]) -> Tables:
    """Each labelled result's `summary()`: its swept columns (no column of another sweep's axis, so no empty
    cells) and its final numbers, without an index column."""
    return Tables({label: result.summary() for label, result in results.items()})
