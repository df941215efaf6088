"""Tables for the book: a sweep's final values, one table per sweep, with only the columns it varies; what the
bias decay alone leaves of the initial bias, for the rows a chapter names."""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from monosem.paper import DECAY_DONE, bias_left, decay_steps, log2_steps
from monosem.profiles import PROFILES, Profile
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


# One row of `bias_left_table`: its name, lr, bias decay, and its run length at the profile and in the `paper`
# profile's run of the same row.
DecayRow = tuple[str, float, float, int, int]


def bias_left_table(rows: Iterable[DecayRow], profile: Profile) -> pd.DataFrame:
    """What the bias decay alone leaves of the initial bias after the first half of training (`paper.bias_left`),
    one row per (name, lr, decay, steps at `profile`, steps in the paper's run), with the run length at which it
    leaves DECAY_DONE (the gate of every part that rests on the decay)."""
    paper = PROFILES["paper"].name
    return pd.DataFrame(
        [
            (
                name,
                lr,
                decay,
                here,
                bias_left(decay, lr, here),
                there,
                bias_left(decay, lr, there),
                log2_steps(decay_steps(decay, lr)),
            )
            for name, lr, decay, here, there in rows
        ],
        columns=[
            "row",
            "lr",
            "bias decay",
            f"steps at {profile.name}",
            f"left at {profile.name}",
            f"steps at {paper}",
            f"left at {paper}",
            f"steps to leave {DECAY_DONE:.0%}",
        ],
    )


def show_bias_left(table: pd.DataFrame) -> Styler:
    """`bias_left_table` for a page: shares as percentages, run lengths with thousands separators, no index."""
    shares = {c: "{:.1%}" for c in table.columns if c.startswith("left at")}
    steps = {c: "{:,}" for c in table.columns if c.startswith("steps at")}
    return table.style.hide(axis="index").format(shares | steps | {"lr": "{:g}", "bias decay": "{:g}"})
