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


def _summary(profile: str, verdicts: list[tuple[str, int, int]], steps: int = 2**14) -> dict:
    claims = [{"claim": f"{i + 1}. c", "verdict": v, "tested": t, "parts": n} for i, (v, t, n) in enumerate(verdicts)]
    return {"profile": profile, "steps": steps, "files": [], "claims": claims}


def test_the_profiles_table_puts_each_profiles_verdicts_side_by_side_and_counts_what_it_tested():
    cpu = _summary("cpu", [("not testable here", 0, 2), ("partly", 1, 3)])
    long = _summary("long", [("agree", 2, 2), ("no", 3, 3)], steps=2**17)
    lines = scorecard.by_profile([cpu, long]).splitlines()
    assert lines[0] == "| claim | `cpu` (2^14 steps) | `long` (2^17 steps) |"
    assert lines[2] == "| 1. c | not testable here (0 of 2 parts tested) | agree (2 of 2 parts tested) |"
    assert lines[-2] == "| **claims with a part tested** | **1 of 2** | **2 of 2** |"
    assert lines[-1] == "| **parts tested** | **1 of 5** | **5 of 5** |"
    with pytest.raises(ValueError, match="list other claims"):
        scorecard.by_profile([cpu, _summary("long", [("agree", 1, 1)])])
    assert "no profile's scorecard" in scorecard.by_profile([])


def test_a_saved_scorecard_is_the_pages_and_its_tables_are_rewritten_from_every_committed_one(tmp_path, ci_trained):
    import json

    from monosem.cache import Cache

    (tmp_path / "book").mkdir()
    (tmp_path / "README.md").write_text("# x\n\n" + "\n".join(pipeline.README_MARKERS) + "\nafter\n")
    ci = get_profile("ci")
    path = pipeline.save_scorecard(ci, Cache(ci_trained), root=tmp_path)
    saved = json.loads(path.read_text())
    card = scorecard.load(ci, Cache(ci_trained))
    values = scorecard.glue_values(card)
    assert len(saved["claims"]) == values["n_claims"] and saved["steps"] == ci.n_steps
    assert sum(c["tested"] for c in saved["claims"]) == values["n_parts_tested"]
    assert sum(c["verdict"] == "agree" for c in saved["claims"]) == values["n_agree"]
    # the files it read carry the current keys: fresh; one of another key is stale
    lr1 = Cache(ci_trained).path(pipeline.chapter_sweeps(ci)[0]).name
    assert lr1 in saved["files"] and pipeline.stale_scorecards(tmp_path) == []
    saved["files"] = [lr1.rpartition("-")[0] + "-0000000000000000.pt"]
    path.write_text(json.dumps(saved))
    assert pipeline.stale_scorecards(tmp_path) == ["ci: LR1-0000000000000000.pt"]
    # the tables: the book's include and the README's block, the README's text around it kept
    table = pipeline.profile_tables(tmp_path)
    assert "`ci` (2^8 steps)" in table and (tmp_path / pipeline.PROFILE_TABLE).read_text() == table
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# x\n\n") and readme.endswith("\nafter\n") and table in readme
    (tmp_path / "README.md").write_text("no markers")
    with pytest.raises(ValueError, match="lacks the markers"):
        pipeline.write_profile_tables(tmp_path)
    (tmp_path / pipeline.SCORECARDS / "nightly.json").write_text("{}")
    with pytest.raises(ValueError, match="scorecards of no profile: nightly"):
        pipeline.scorecard_summaries(tmp_path)


def test_the_ci_profile_keeps_no_scorecard(capsys):
    from monosem.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["scorecard", "--profile", "ci"])
    assert exit_.value.code == 2 and "verdicts mean nothing" in capsys.readouterr().err
