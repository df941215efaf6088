"""One module per chapter: its sweeps at each profile, which final weights it keeps, `run` (the trained
results, from the cache when they are there), its claim checks and the numbers its prose quotes.

Chapter `book/NN_<name>.py` is served by `monosem.experiments.<name>`. Every module defines:
- `sweeps(profile) -> list[Sweep]`: everything the chapter trains (a sweep another chapter also trains is
  trained once: the cache key is the configuration);
- `WEIGHTS`: names of the sweeps whose final weights its figures need (kept in the committed compact results);
- `run(profile, cache=None) -> <its results>`: a small typed object holding the trained results;
- `findings(results) -> list[claims.Finding]` and `numbers(results) -> dict`, the values glued into the prose.
Optional:
- `compute(profile, cache=None, progress=True) -> float`: what `run` trains besides sweeps of the toy model
  (cached with `Cache.get_or_compute`), trained or read from the cache; returns its recorded training seconds.
  `python -m monosem train` calls it after the sweeps, and a chapter's re-run note counts its seconds;
- `BEYOND_PAPER = True`: a chapter beyond the paper, whose findings the claims scorecard leaves out.
"""
