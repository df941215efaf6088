"""One module per chapter: its sweeps at each profile, which final weights it keeps, `run` (the trained
results, from the cache when they are there), its claim checks and the numbers its prose quotes.

Chapter `book/NN_<name>.py` is served by `monosem.experiments.<name>`. Every module defines:
- `sweeps(profile) -> list[Sweep]`: everything the chapter trains (a sweep another chapter also trains is
  trained once: the cache key is the configuration);
- `WEIGHTS`: names of the sweeps whose final weights its figures need (kept in the committed compact results);
- `run(profile, cache=None) -> <its results>`: a small typed object holding the trained results;
- `findings(results) -> list[claims.Finding]` and `numbers(results) -> dict`, the values glued into the prose.
"""
