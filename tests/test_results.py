"""The results cache: hits, misses, and recovery from a corrupt or foreign file without losing it."""

import pytest
import torch
from conftest import make_result

import monosem.training
from monosem.cache import Cache
from monosem.chapters import basins
from monosem.config import make_sweep
from monosem.profiles import PerProfile, get_profile
from monosem.results import SweepResult

VERSION = "test"
REAL_TRAIN = monosem.training.train


@pytest.fixture
def counted(monkeypatch):
    calls = []

    def train(sweep, **kw):
        calls.append(sweep.name)
        return REAL_TRAIN(sweep, **kw)

    monkeypatch.setattr(monosem.training, "train", train)
    return calls


def _sweep(name="A", **axes):
    return make_sweep(name, get_profile("ci").base(n_steps=32), **(axes or {"lr": (0.003, 0.03)}))


def test_hit_and_miss(tmp_path, counted):
    first = Cache(tmp_path, VERSION).get_or_train(_sweep(), progress=False)
    again = Cache(tmp_path, VERSION).get_or_train(_sweep(), progress=False)
    assert counted == ["A"]
    for name, value in first.arrays.items():
        assert torch.equal(value, again[name]), name
    Cache(tmp_path, VERSION).get_or_train(_sweep(lr=(0.003, 0.01)), progress=False)
    Cache(tmp_path, "other").get_or_train(_sweep(), progress=False)
    assert counted == ["A", "A", "A"]


def test_corrupt_file_is_reported_kept_aside_and_retrained(tmp_path, counted):
    sweep = _sweep()
    path = Cache(tmp_path, VERSION).path(sweep)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match=str(path)):
        result = Cache(tmp_path, VERSION).get_or_train(sweep, progress=False)
    assert counted == ["A"] and isinstance(result, SweepResult)
    aside = list(tmp_path.glob(f"{path.name}.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"not a torch file"
    assert path.exists()


def test_file_of_another_configuration_is_never_served(tmp_path, counted):
    a, b = _sweep("A"), _sweep("A", lr=(0.005,))
    Cache(tmp_path, VERSION).get_or_train(a, progress=False)
    Cache(tmp_path, VERSION).path(a).rename(Cache(tmp_path, VERSION).path(b))
    with pytest.warns(UserWarning, match="different configuration"):
        result = Cache(tmp_path, VERSION).get_or_train(b, progress=False)
    assert counted == ["A", "A"]
    assert result.values("lr") == [0.005] and result["W_in"].shape[0] == 1


def test_a_multi_seed_result_serves_its_base_seed_and_the_chapters_find_it(tmp_path, counted):
    """`train --seeds 2` caches the 2-seed sweep; the one-seed sweep is then served from it (equal to training it
    alone, bit for bit on a CPU) and `seeded` finds the wider version for the chapters that pool seeds."""
    one = _sweep()
    two = one.with_seeds(2)
    cache = Cache(tmp_path, VERSION)
    assert cache.seeded(one) is one and not cache.valid(one)
    wide = cache.get_or_train(two, progress=False)
    assert cache.seeded(one) == two and cache.valid(one)
    served = cache.get_or_train(one, progress=False)
    assert counted == ["A"] and served.configs == one.configs
    alone = REAL_TRAIN(one, progress=False)
    for name, value in alone.arrays.items():
        assert torch.equal(served[name], value), name
    assert torch.equal(served.final_loss, wide.final_loss[[0, 2]])  # seed is the fastest axis


def test_computation_is_cached_by_name_config_and_version(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.arange(3.0)}

    cache = Cache(tmp_path, VERSION)
    first = cache.get_or_compute("SAE", {"lam": 0.1}, compute)
    again = Cache(tmp_path, VERSION).get_or_compute("SAE", {"lam": 0.1}, compute)
    assert calls == [1] and torch.equal(first["w"], again["w"])
    cache.get_or_compute("SAE", {"lam": 0.2}, compute)
    Cache(tmp_path, "other").get_or_compute("SAE", {"lam": 0.1}, compute)
    assert calls == [1, 1, 1]


def test_corrupt_computation_file_is_kept_aside_and_recomputed(tmp_path):
    cache = Cache(tmp_path, VERSION)
    path = cache.artifact_path("SAE", {"lam": 0.1})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match=str(path)):
        out = cache.get_or_compute("SAE", {"lam": 0.1}, lambda: {"w": torch.ones(2)})
    assert torch.equal(out["w"], torch.ones(2))
    assert [p.read_bytes() for p in tmp_path.glob(f"{path.name}.bad-*")] == [b"garbage"]
    with pytest.raises(TypeError, match="dict of tensors"):
        cache.get_or_compute("other", {}, lambda: {"w": 1.0})


def test_index_picks_instances_by_value_and_lists_choices():
    result = make_result(_sweep(lr=(0.003, 0.03), init_bias=(0.0, -1.0)))
    assert result.index(lr=0.03, init_bias=-1.0) == 3
    with pytest.raises(KeyError, match="swept values"):
        result.index(lr=0.1)
    with pytest.raises(KeyError, match="2 instances"):
        result.index(lr=0.03)


def test_profiles():
    assert get_profile("auto").name == ("paper" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="valid profiles: auto, ci, cpu, long, paper"):
        get_profile("laptop")
    long, cpu = get_profile("long"), get_profile("cpu")
    # long is cpu's shapes and grids at the paper's run length: the clock of the recipe is steps
    assert long.base() == cpu.base(n_steps=get_profile("paper").n_steps)
    assert basins.lr1(long).configs == tuple(c.replace(n_steps=2**17) for c in basins.lr1(cpu).configs)
    with pytest.raises(ValueError, match="a table has no entry for profile 'ci'; it has cpu"):
        PerProfile("a table", {"cpu": 1}).of(get_profile("ci"))
    assert PerProfile("a table", {"cpu": 1}).of(long) == 1  # long reads cpu's grids
    paper = basins.lr1(get_profile("paper")).configs[0]
    assert (paper.n_features, paper.d_embed, paper.d_hidden, paper.batch_size, paper.n_steps) == (
        512,
        64,
        1024,
        8192,
        2**17,
    )
