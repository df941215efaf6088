"""Training on a Ray cluster (`monosem.cluster`) gives the plain run's results bit for bit, a sweep split into parts
and merged equals the sweep trained whole, a killed worker's task is retried, an interrupted run resumes from its
finished parts, and bad input fails with one line and changes nothing.

One local Ray instance with two workers serves the whole module. Every run here trains at one thread per process:
on this 2-core machine, busy with other work, two threads spend most of their time waiting for each other, and a
result does not depend on the number of threads.
"""

import contextlib
import logging
import os
import signal

import pytest
import torch

from monosem import cli, cluster, pipeline, runner, shards, training
from monosem.cache import Cache
from monosem.chapters import basins
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.training import train

CI = get_profile("ci")
CHAPTERS = ["01_basins", "02_negative_bias"]
LR1, LR2 = basins.lr1(CI), basins.lr2(CI)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", autouse=True)
def on_the_cpu():
    """Every run here trains on the CPU, on a machine with a GPU too: the claims are bit for bit (Ray against the
    plain run, parts against the whole), which hold between two runs on one device; a CPU-only Ray instance
    (`ray_local`) trains there, so the plain run must as well. On CUDA, parts and the whole differ in rounding (the
    batched products change shape: tests/conftest.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "default_device", lambda: torch.device("cpu"))
        yield


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip(
        "ray", exc_type=ImportError, reason="ray is not installed: pip install 'ray>=2.40,<3' to test training on Ray"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")  # this machine has no network to report to
        # "local": a fresh instance even where a cluster started by `ray start` is running on this machine
        # num_gpus=0: a cluster of CPUs on any machine (Ray would count a GPU here), which the claims below are about
        ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, logging_level=logging.WARNING)
        yield ray
        ray.shutdown()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The two chapters trained by the plain runner, one sweep after another."""
    cache = Cache(tmp_path_factory.mktemp("plain") / "ci")
    runner.train_all(cache, pipeline.chapter_sweeps(CI, CHAPTERS), label="ci", log=lambda _: None, progress=False)
    return cache


@pytest.fixture(scope="module")
def on_ray(ray_local, tmp_path_factory):
    """The same chapters trained as Ray tasks: the cache, the number of sweeps trained and the log."""
    cache, log = Cache(tmp_path_factory.mktemp("ray") / "ci"), []
    n = cluster.train_on_ray(cache, pipeline.chapter_sweeps(CI, CHAPTERS), label="ci", log=log.append, progress=False)
    return cache, n, log


def _assert_same_arrays(a, b):
    assert a.configs == b.configs
    assert set(a.arrays) == set(b.arrays)
    for name, value in a.arrays.items():
        assert torch.equal(value, b.arrays[name]), name


def test_split_and_merged_equals_the_sweep_trained_whole(plain):
    whole = plain.load(LR1)  # lr (3 values) x seed (2): cut along lr
    for n_parts, sizes in ((3, [2, 2, 2]), (2, [4, 2])):
        pieces = shards.split(LR1, n_parts)
        assert [p.n_inst for p in pieces] == sizes
        assert tuple(c for p in pieces for c in p.configs) == LR1.configs
        merged = shards.merge(LR1, [train(p, device="cpu", progress=False) for p in pieces])
        _assert_same_arrays(merged, whole)
        assert merged.seconds == sum(m["seconds"] for m in merged.meta["parts"])
    gelu = make_sweep("GELU", CI.base(activation="gelu"), lr=(0.005,), init_bias=(-1.0, -0.5, 0.0))
    assert [p.configs for p in shards.split(gelu, 3)] == [(c,) for c in gelu.configs]  # a one-value axis is skipped
    with pytest.raises(ValueError, match=r"n_shards must be an integer in \[1, 3\]"):
        shards.split(LR1, 4)
    results = [plain.load(LR1)]
    with pytest.raises(ValueError, match="not those of sweep 'LR2'"):
        shards.merge(LR2, results)


def test_ray_trains_two_chapters_exactly_as_the_plain_run(plain, on_ray):
    cache, n, log = on_ray
    sweeps = runner.distinct(pipeline.chapter_sweeps(CI, CHAPTERS), cache)
    assert n == len(sweeps) == 14  # chapters 1 (LR1, LR2, FLAT) and 2
    assert log[0].startswith("14 sweeps to train at profile ci") and "Ray cluster of 2 CPUs and 0 GPUs" in log[0]
    assert log[-1].startswith("trained 14 sweeps")
    for sweep in sweeps:
        result = cache.load(sweep)
        _assert_same_arrays(result, plain.load(sweep))
        assert result.meta["device"] == "cpu" and result.meta["node"]
    assert sorted(p.name for p in cache.root.iterdir()) == sorted(cache.path(s).name for s in sweeps)


def test_a_second_call_trains_nothing(on_ray):
    cache, _, _ = on_ray
    before = {p: p.stat().st_mtime_ns for p in cache.root.iterdir()}
    log = []
    assert cluster.train_on_ray(cache, pipeline.chapter_sweeps(CI, CHAPTERS), label="ci", log=log.append) == 0
    assert log == [f"all 14 sweeps of profile ci are cached in {cache.root}"]
    assert {p: p.stat().st_mtime_ns for p in cache.root.iterdir()} == before


def test_a_killed_worker_is_retried_and_every_result_arrives(ray_local, plain, tmp_path):
    killed = tmp_path / "killed"

    def train_then_die_once(sweep, **kw):  # runs on a worker: pickled by value, with `killed`
        from monosem.training import train

        result = train(sweep, **kw)
        if sweep.name == "LR1_part2of3" and not killed.exists():
            killed.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies with its task done but not returned
        return result

    cache, log = Cache(tmp_path / "ci"), []
    # Balanced over 4 workers, LR1 (6 models) is cut into 3 parts and LR2 (3 models) into 2.
    n = cluster.train_on_ray(
        cache, [LR1, LR2], label="ci", workers=4, train=train_then_die_once, log=log.append, progress=False
    )
    assert n == 2 and killed.exists()
    assert "5 tasks" in log[0] and "LR1 in 3 parts, LR2 in 2 parts" in log[0]
    for sweep in (LR1, LR2):
        _assert_same_arrays(cache.load(sweep), plain.load(sweep))
        assert len(cache.load(sweep).meta["parts"]) == (3 if sweep is LR1 else 2)
    assert not (cache.root / "parts").exists()  # merged, so no longer needed


def test_an_interrupted_run_keeps_its_finished_parts(ray_local, plain, tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()

    def recording_train(sweep, **kw):
        from monosem.training import train

        (calls / sweep.name).touch()
        return train(sweep, **kw)

    cache = Cache(tmp_path / "ci")
    first, *rest = shards.split(LR2, 3)
    cluster.parts_cache(cache, LR2).save(train(first, progress=False))  # what an interrupted run had finished
    assert cluster.train_on_ray(cache, [LR2], label="ci", workers=3, train=recording_train, progress=False) == 1
    assert sorted(p.name for p in calls.iterdir()) == [p.name for p in rest]
    _assert_same_arrays(cache.load(LR2), plain.load(LR2))


def test_seeds_add_a_seed_axis_to_every_batch_that_has_none(ray_local, plain, tmp_path, monkeypatch):
    seeded = runner.with_seeds([LR1, LR2], 2)
    assert seeded[0] is LR1  # sweeps seed already: keeps its own
    assert seeded[1].axes == (("lr", CI.lrs), ("seed", (0, 1)))
    assert runner.with_seeds([LR2], 1)[0].key("v") == LR2.key("v")  # one seed: the same configurations, the same file
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path))
    assert cli.main(["train", "--profile", "ci", "--chapter", "1", "--ray", "--seeds", "2"]) == 0
    cache = Cache.for_profile("ci")
    assert cache.path(LR1).exists() and not cache.path(LR2).exists()
    lr2_seeded = cache.load(seeded[1])
    for i, cfg in enumerate(LR2.configs):  # seed 0 of the seeded sweep is the plain sweep's instance
        j = lr2_seeded.index(lr=cfg.lr, seed=0)
        for name, value in plain.load(LR2).arrays.items():
            if name not in shards.COMMON_ARRAYS:
                assert torch.equal(lr2_seeded[name][j], value[i]), name


@contextlib.contextmanager
def _unchanged(root):
    before = sorted(root.rglob("*")) if root.exists() else None
    yield
    assert (sorted(root.rglob("*")) if root.exists() else None) == before


def _cli_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    return exc.value.code, errors


def test_an_unreachable_address_and_zero_seeds_fail_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path))
    root = Cache.for_profile("ci").root
    with _unchanged(root):
        code, errors = _cli_error(capsys, ["train", "--profile", "ci", "--ray", "127.0.0.1:1"])
        assert code == 2 and len(errors) == 1 and "cannot reach a Ray cluster at 127.0.0.1:1" in errors[0]
        code, errors = _cli_error(capsys, ["train", "--profile", "ci", "--ray", "no-port"])
        assert code == 2 and len(errors) == 1 and "a Ray address is auto, HOST:PORT" in errors[0]
        code, errors = _cli_error(capsys, ["train", "--profile", "ci", "--seeds", "0"])
        assert code == 2 and errors[0].endswith("the number of seeds must be a positive integer, got 0")
        code, errors = _cli_error(capsys, ["train", "--profile", "ci", "--ray", "--budget", "5"])
        assert code == 2 and errors[0].endswith("--budget cannot be used with --ray: every task starts at once")


def test_cuda_on_a_cluster_without_a_gpu_is_refused(ray_local, tmp_path):
    cache = Cache(tmp_path / "ci")
    with (
        _unchanged(tmp_path),
        pytest.raises(
            ValueError, match="device cuda was asked for, but the Ray cluster of 2 CPUs and 0 GPUs has no GPU"
        ),
    ):
        cluster.train_on_ray(cache, [LR1], label="ci", device="cuda")
    with _unchanged(tmp_path), pytest.raises(runner.RunnerError, match="sweeps of the ci profile are not in"):
        cluster.train_on_ray(cache, [LR1], label="ci", gpu_sized=True)  # the paper profile on CPUs


def test_train_with_ray_also_computes_what_chapters_need_besides_sweeps(tmp_path, monkeypatch):
    # chapters 8-9 train small models of their own (`compute`), on the driver, with or without --ray
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path))
    calls = []
    monkeypatch.setattr(cluster, "train_on_ray", lambda cache, sweeps, **kw: calls.append(("ray", len(sweeps))))
    monkeypatch.setattr(pipeline, "compute_all", lambda profile, chosen, cache, **kw: calls.append(("compute", chosen)))
    assert cli.main(["train", "--profile", "ci", "--chapter", "8", "--ray"]) == 0
    assert [c[0] for c in calls] == ["ray", "compute"]
    assert calls[1][1] == [pipeline.resolve_chapter("8")]


def test_the_address_check_lets_a_real_ray_cluster_through(ray_local):
    # the check that rejects a listener that is not Ray (tests/test_faults.py) accepts the GCS of a real cluster
    cluster._check_reachable(ray_local.get_runtime_context().gcs_address)


def test_a_sweep_another_process_is_training_is_left_to_it(ray_local, plain, tmp_path):
    cache, log = Cache(tmp_path / "ci"), []
    with cache.claim(LR2):  # as another driver or `train` holds it while it trains LR2 into this cache
        n = cluster.train_on_ray(cache, [LR1, LR2], label="ci", log=log.append, progress=False)
    assert n == 1 and cache.exists(LR1) and not cache.exists(LR2)
    assert any(line.startswith("left to the other process") and "LR2" in line for line in log), log
    _assert_same_arrays(cache.load(LR1), plain.load(LR1))
