"""The scorecard page: every chapter's findings, by the chapters' own functions, ordered by claim number."""

import pytest

from monosem import pipeline
from monosem.chapters import scorecard
from monosem.claims import Finding, Gate, Part
from monosem.profiles import get_profile


def _finding(claim: str, holds: bool | None = True, figure: str = "") -> Finding:
    return Finding(claim, (Part("a part", "paper 1", "run 1", "x > 0", holds),), figure)


def test_claim_number_is_read_from_the_text_and_required():
    assert _finding("10. The mechanism").number == 10
    with pytest.raises(ValueError, match="must start with its number"):
        _ = _finding("The mechanism").number


def test_table_orders_claims_and_links_chapter_and_figure():
    card = scorecard.Scorecard(
        get_profile("ci"),
        {"negative_bias": [_finding("3. c", False, "fig-neg-final")], "basins": [_finding("1. a"), _finding("2. b")]},
    )
    frame = scorecard.table(card, ["00_scorecard", "01_basins", "02_negative_bias"])
    assert [c.split(".")[0] for c in frame["claim"]] == ["1", "2", "3"]
    assert list(frame["verdict"]) == ["**agree** (1 of 1 parts tested)"] * 2 + ["**no** (1 of 1 parts tested)"]
    assert frame["shown in"][2] == "{doc}`02_negative_bias`, {numref}`Fig. %s <fig-neg-final>`"
    assert frame["shown in"][0] == "{doc}`01_basins`"
    assert scorecard.glue_values(card)["n_agree"] == 2 and scorecard.glue_values(card)["n_no"] == 1


def test_an_untestable_claim_says_what_would_test_it_and_its_parts_fold_below():
    gate = Gate(n_models=2, n_settled=1, steps=2**14, decay_steps=2**17.2, decay_text="decay 0.03 at lr 0.001")
    untestable = Finding("4. d", (Part("a part", "p", "r", "x > 0", False, gate),), headline=("0.6-1", "0.3"))
    card = scorecard.Scorecard(get_profile("ci"), {"negative_bias": [untestable], "basins": [_finding("1. a")]})
    frame = scorecard.table(card, ["01_basins", "02_negative_bias"])
    assert frame["verdict"][1] == "**not testable here** (0 of 1 parts tested)"
    assert frame["to test the rest"][1] == "runs of >= 2^17.2 steps"
    assert (frame["the paper"][1], frame["this book (ci)"][1]) == ("0.6-1", "0.3")
    assert frame["to test the rest"][0] == "every part tested"
    assert scorecard.glue_values(card)["n_not_testable_here"] == 1 and scorecard.glue_values(card)["n_no"] == 0
    page = scorecard.show(card, ["01_basins", "02_negative_bias"]).data
    assert page.count(":::{dropdown}") == 2 and "cannot be tested at this scale: 1 of 2 models" in page
    assert "To test the parts not tested here: >= 2^17.2 steps (decay 0.03 at lr 0.001); > 2^14 steps" in page


def test_a_module_without_a_page_is_an_error():
    with pytest.raises(ValueError, match="no book page NN_width"):
        scorecard.page_of("width", ["01_basins"])


def test_every_paper_chapter_has_a_page_and_the_scorecard_equals_the_chapters(ci_trained):
    """At ci (results read from the cache, trained once per session): the scorecard's rows are the chapters' own
    findings."""
    profile = get_profile("ci")
    pages = pipeline.chapters()
    card = scorecard.load(profile)
    for name, module in scorecard.modules().items():
        scorecard.page_of(name, pages)
        assert card.findings[name] == module.findings(module.load(profile))
    numbers = [f.number for f in scorecard.findings(card)]
    assert numbers == list(range(1, 11)), "the scorecard is the paper's ten claims, once each, in order"
