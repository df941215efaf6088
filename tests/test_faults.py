"""Faults that lose work, hang or race (issue 27), each injected: a listener that is not Ray, a cache that cannot
be written or a full disk, a failing chapter, two processes at once, a flipped byte, a spent budget, and bad
arguments. Each test checks what the user sees and that nothing trained is lost. The reliability table of
book/scale.md ("When something goes wrong") names the test of each fault."""

import errno
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import make_result

import monosem.training
from monosem import cache as cache_module
from monosem import cli, cluster, pipeline, runner
from monosem.cache import Cache, CacheError, checksum, remove_leftovers
from monosem.chapters import basins
from monosem.config import ModelConfig, Sweep
from monosem.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]
CI = get_profile("ci")
LR1, LR2 = basins.lr1(CI), basins.lr2(CI)


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MONOSEM_UNSAVED", str(tmp_path / "unsaved"))
    return tmp_path / "results"


def _fake_train(monkeypatch):
    """Training replaced by a hand-built result (instant); returns the names trained, in order."""
    calls = []

    def train(sweep, **kw):
        calls.append(sweep.name)
        return make_result(sweep, r=torch.rand(sweep.n_inst, sweep.configs[0].d_hidden))

    monkeypatch.setattr(monosem.training, "train", train)
    return calls


def _error_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if "error" in line]


# --- 1. an address where something answers that is not Ray -----------------------------------------------------


@pytest.fixture(params=["silent", "http", "closes"])
def not_ray(request):
    """A listener on localhost that never answers, answers as an HTTP/1 server (Ray's dashboard), or hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    conns, stop = [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conns.append(conn)
            if request.param == "http":
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            elif request.param == "closes":
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in conns:
        conn.close()
    server.close()


def test_train_at_an_address_that_is_not_ray_fails_within_seconds(not_ray, results, monkeypatch, capsys):
    monkeypatch.setattr(cluster, "CHECK_TIMEOUT_S", 1.0, raising=False)
    # before the check, ray.init would wait here for minutes, deaf to Ctrl-C
    monkeypatch.setattr(cluster, "_connect", lambda *a: pytest.fail("ray.init was reached"))
    calls = _fake_train(monkeypatch)
    start = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--profile", "ci", "--chapter", "1", "--ray", not_ray])
    assert time.monotonic() - start < 5
    errors = _error_lines(capsys)
    assert exc.value.code == 2 and len(errors) == 1 and not_ray in errors[0], errors
    assert "GCS port" in errors[0] and calls == [] and not results.exists()


# --- 2. a cache that cannot be written, a full disk --------------------------------------------------------------


def test_a_cache_that_cannot_be_written_is_refused_before_training(tmp_path, monkeypatch, capsys):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    monkeypatch.setenv("MONOSEM_RESULTS", str(in_the_way))
    calls = _fake_train(monkeypatch)
    assert cli.main(["train", "--profile", "ci", "--chapter", "1"]) == 1
    errors = _error_lines(capsys)
    assert len(errors) == 1 and f"cannot write results to {in_the_way}/ci" in errors[0]
    assert "nothing was trained" in errors[0] and calls == []  # refused before the first sweep, not after it


def test_too_little_free_space_is_refused_before_training(tmp_path):
    with pytest.raises(CacheError, match="MB free, but the results to train need about"):
        Cache(tmp_path / "ci").check_writable(need_bytes=1e18)


@pytest.mark.skipif(not Path("/dev/full").exists() or not Path("/proc/self/fd").exists(), reason="Linux only")
def test_a_full_disk_keeps_the_trained_result(results, monkeypatch):
    cache = Cache.for_profile("ci")
    real_save = torch.save

    def save_to_full_disk(obj, f, *a, **kw):  # only inside the cache: every write there hits ENOSPC
        if Path(os.readlink(f"/proc/self/fd/{f.fileno()}")).parent == cache.root:
            with open("/dev/full", "wb") as full:
                return real_save(obj, full, *a, **kw)
        return real_save(obj, f, *a, **kw)

    monkeypatch.setattr(cache_module.torch, "save", save_to_full_disk)
    calls = _fake_train(monkeypatch)
    with pytest.raises(CacheError) as exc:
        cache.get_or_train(LR1, progress=False)
    assert calls == ["LR1"] and f"cannot write {cache.path(LR1)}" in str(exc.value)
    assert "inline_container" not in str(exc.value)  # torch's words for a full disk, not the user's
    kept = results.parent / "unsaved" / cache.path(LR1).name
    assert f"the trained result is kept in {kept}" in str(exc.value)
    assert not list(cache.root.glob(".*.tmp"))  # no half-written file left behind
    monkeypatch.setattr(cache_module.torch, "save", real_save)
    trained = Cache(kept.parent).load(LR1)
    os.replace(kept, cache.path(LR1))  # as the message says: then it is used as if trained there
    assert torch.equal(cache.get_or_train(LR1, progress=False).r, trained.r)
    assert calls == ["LR1"]  # not trained again


# --- 3 and 8. `book` with a failing chapter, or an output it cannot write ----------------------------------------


@pytest.fixture
def fake_book(tmp_path, results, monkeypatch):
    """Three chapters in a folder of their own; executing one only records it, building the html too."""
    root = tmp_path / "repo"
    (root / "book").mkdir(parents=True)
    for name in (*pipeline.STATIC, "book/intro.md"):
        (root / name).write_text("")
    for chapter in ("01_a", "02_b", "03_c"):
        (root / "book" / f"{chapter}.py").write_text("")
    done = {"executed": [], "built": []}

    def prepare(chapter, profile, out_dir, book_dir):
        done["executed"].append(chapter)
        if chapter == "02_b":
            raise pipeline.ChapterError(f"chapter {chapter} failed at profile {profile}: RuntimeError: boom")

    monkeypatch.setattr(pipeline, "prepare", prepare)
    monkeypatch.setattr(pipeline, "chapters", lambda: ["01_a", "02_b", "03_c"])  # the registry's pages, here
    monkeypatch.setattr(pipeline, "train", lambda profile, names=None, **kw: None)
    monkeypatch.setattr(
        pipeline.subprocess, "run", lambda cmd, check: done["built"].append(cmd) or subprocess.CompletedProcess(cmd, 1)
    )
    return root, done


def test_book_runs_every_chapter_builds_and_names_the_failed_ones(fake_book):
    root, done = fake_book
    with pytest.raises(pipeline.ChapterError, match=r"1 of 3 chapters failed at profile ci: 02_b") as exc:
        pipeline.build("ci", root=root)
    assert done["executed"] == ["01_a", "02_b", "03_c"]  # not stopped at 02_b
    assert len(done["built"]) == 1 and "--keep-going" in done["built"][0]
    assert "the book was built with errors at" in str(exc.value)


def test_book_to_an_output_it_cannot_write_fails_before_any_chapter(fake_book, tmp_path):
    root, done = fake_book
    out = tmp_path / "a-file"
    out.write_text("")
    with pytest.raises(pipeline.ChapterError, match=f"cannot write the book to {out}/_build"):
        pipeline.build("ci", root=root, out=out)
    assert done["executed"] == [] and done["built"] == []


# --- 4. two processes at once -------------------------------------------------------------------------------


def _write_chapter(book_dir, chapter, code):
    book_dir.mkdir(parents=True, exist_ok=True)
    (book_dir / f"{chapter}.py").write_text(f'# %% tags=["parameters"]\nprofile = "ci"\n\n# %%\n{code}\n')


def test_two_runs_of_one_chapter_do_not_share_a_running_notebook(tmp_path, monkeypatch):
    import papermill

    book_dir, out_dir = tmp_path / "book", tmp_path / "stage"
    _write_chapter(book_dir, "01_x", "x = 1")
    outputs = []

    def execute(source, output, **kw):  # while this run executes, a second process runs the same chapter
        outputs.append(output)
        nbformat.write(source, output)
        if len(outputs) == 1:
            monkeypatch.setattr(pipeline.os, "getpid", lambda: 999_999_999)
            pipeline.prepare("01_x", "ci", out_dir, execute=False, book_dir=book_dir)
            monkeypatch.undo()

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    assert pipeline.prepare("01_x", "ci", out_dir, execute=False, book_dir=book_dir) == out_dir / "01_x.ipynb"
    assert len(set(outputs)) == 2  # before: one fixed name, and the first run's rename failed
    assert [p.name for p in out_dir.iterdir()] == ["01_x.ipynb"]


def test_two_processes_setting_aside_one_bad_file_both_go_on(tmp_path):
    first, second = Cache(tmp_path), Cache(tmp_path)
    first.path(LR1).write_bytes(b"garbage")
    real_load = first.load

    def load_while_the_other_sets_it_aside(sweep):
        try:
            return real_load(sweep)
        finally:
            with pytest.warns(UserWarning, match="moved it to"):
                assert not second.valid(sweep)  # the other process gets there first

    first.load = load_while_the_other_sets_it_aside
    assert not first.valid(LR1)  # before: FileNotFoundError
    assert [p.read_bytes() for p in tmp_path.glob("*.bad-*")] == [b"garbage"]


def test_a_file_replaced_since_it_was_read_is_not_set_aside(tmp_path, monkeypatch):
    # a process that read a bad file must not move aside the good one another process wrote meanwhile
    cache = Cache(tmp_path)
    cache.path(LR1).write_bytes(b"garbage")
    with pytest.raises(CacheError):
        cache.load(LR1)
    Cache(tmp_path).save(make_result(LR1))
    cache._set_aside(CacheError("stale"), LR1)
    assert cache.load(LR1) is not None and not list(tmp_path.glob("*.bad-*"))


TWO_TRAINERS = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import monosem.training
from conftest import make_result
from monosem import runner
from monosem.cache import Cache
from monosem.chapters import basins
from monosem.profiles import get_profile

ci = get_profile("ci")
def train(sweep, **kw):
    with open(sys.argv[2], "a") as log:
        print(sweep.name, file=log)
    time.sleep(1.0)
    return make_result(sweep)
monosem.training.train = train
ready = Path(sys.argv[1]) / f"ready-{sys.argv[4]}"
ready.touch()
while len(list(Path(sys.argv[1]).glob("ready-*"))) < 2:  # both start at once
    time.sleep(0.01)
cache = Cache(Path(sys.argv[1]) / "ci")
runner.train_all(cache, [basins.lr1(ci), basins.lr2(ci)], label="ci", log=lambda *_: None, progress=False)
assert cache.exists(basins.lr1(ci)) and cache.exists(basins.lr2(ci))
"""


def test_two_trains_into_one_cache_train_each_sweep_once(tmp_path):
    log = tmp_path / "trained.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", TWO_TRAINERS, str(tmp_path), str(log), str(ROOT / "tests")]
    procs = [subprocess.Popen([*cmd, str(i)], env=env, stderr=subprocess.PIPE, text=True) for i in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert sorted(log.read_text().split()) == ["LR1", "LR2"]  # before: each sweep twice
    assert not list((tmp_path / "ci").glob(".*.lock"))


# --- 5. a flipped byte inside a tensor ----------------------------------------------------------------------


def test_a_flipped_byte_in_a_cached_tensor_is_caught_and_set_aside(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    r = torch.linspace(0.1, 0.9, LR1.n_inst * LR1.configs[0].d_hidden).reshape(LR1.n_inst, -1)
    path = cache.save(make_result(LR1, r=r))
    blob = bytearray(path.read_bytes())
    at = blob.find(r.numpy().tobytes())
    assert at > 0
    blob[at + 10] ^= 0xFF  # one weight changed; the zip and the pickle still read
    path.write_bytes(bytes(blob))
    with pytest.raises(CacheError, match="is damaged: its arrays do not match the checksum"):
        cache.load(LR1)
    calls = _fake_train(monkeypatch)
    with pytest.warns(UserWarning, match="is damaged.*moved it to"):
        cache.get_or_train(LR1, progress=False)
    assert calls == ["LR1"] and len(list(tmp_path.glob("*.bad-*"))) == 1


def test_a_file_written_before_checksums_is_still_served(tmp_path):
    cache = Cache(tmp_path)
    path = cache.save(make_result(LR1))
    payload = torch.load(path, weights_only=True)
    del payload["checksum"]
    torch.save(payload, path)
    assert cache.load(LR1).r.shape == (LR1.n_inst, LR1.configs[0].d_hidden)


def test_the_checksum_sees_every_byte_and_the_dtype():
    a = {"x": torch.zeros(3), "y": torch.ones(2, dtype=torch.float16)}
    assert checksum(a) == checksum({k: v.clone() for k, v in a.items()})
    assert checksum(a) != checksum({**a, "x": torch.tensor([0.0, 0.0, 1e-30])})
    assert checksum(a) != checksum({**a, "y": torch.ones(2, dtype=torch.bfloat16)})


# --- 6. --budget: a distinct exit status, and chapters' own training within it --------------------------------


def test_budget_with_work_left_exits_3(results, monkeypatch, capsys):
    calls = _fake_train(monkeypatch)
    monkeypatch.setattr(pipeline, "compute_all", lambda *a, **kw: pytest.fail("trained past the budget"))
    monkeypatch.setattr(runner, "sweep_flops", lambda sweep: 1.0)
    real = Cache.get_or_train

    def slow(self, sweep, **kw):
        time.sleep(0.05)
        return real(self, sweep, **kw)

    monkeypatch.setattr(Cache, "get_or_train", slow)
    assert cli.main(["train", "--profile", "ci", "--chapter", "1", "--budget", "0.0001"]) == runner.EXIT_WORK_LEFT
    assert calls == ["LR1"] and "2 sweeps left (LR2, FLAT); run again to go on" in capsys.readouterr().out


def test_no_chapter_training_starts_after_the_budget(results):
    chapter = pipeline.resolve_chapter("9")
    cache = Cache.for_profile("ci")
    with pytest.raises(runner.BudgetSpent, match=f"what {chapter} train besides sweeps is not trained yet"):
        pipeline.compute_all(CI, [chapter], cache, deadline=time.monotonic() - 1)


def test_train_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "3 when --budget stopped the run with work left" in " ".join(capsys.readouterr().out.split())


# --- 7. --seeds above what the chapters read ----------------------------------------------------------------


def test_more_seeds_than_the_chapters_read_is_refused(results, capsys):
    with pytest.raises(ValueError, match="at most 32"):
        runner.with_seeds([LR1], 33)
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--profile", "ci", "--seeds", "33"])
    assert exc.value.code == 2 and "at most 32" in _error_lines(capsys)[0] and not results.exists()


# --- 8. one line, not a traceback -----------------------------------------------------------------------------


def test_export_to_a_file_is_one_line(results, tmp_path, monkeypatch, capsys):
    _fake_train(monkeypatch)
    runner.train_all(Cache.for_profile("ci"), basins.sweeps(CI), label="ci", log=lambda *_: None, progress=False)
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    assert cli.main(["export", "--to", str(in_the_way), "--profile", "ci", "--chapter", "1"]) == 1
    errors = _error_lines(capsys)
    assert len(errors) == 1 and str(in_the_way) in errors[0]


def test_a_bad_file_in_a_read_only_cache_is_ignored_not_a_traceback(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    cache.path(LR1).write_bytes(b"garbage")

    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(src))

    monkeypatch.setattr(cache_module.os, "replace", read_only)
    with pytest.warns(UserWarning, match="cannot move it aside .*Read-only file system.*so it is ignored"):
        assert not cache.valid(LR1)
    assert cache.path(LR1).read_bytes() == b"garbage"


def test_bench_with_zero_steps_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "--profile-step", "--steps", "0"])
    assert exc.value.code == 2 and _error_lines(capsys)[0].endswith("--steps must be >= 1, got 0")


# --- 9. leftovers ------------------------------------------------------------------------------------------


def test_temporary_files_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    leftover = tmp_path / f".LR1-0123.pt.pid{dead.stdout.strip()}@{host}.abcd_123.tmp"
    live = tmp_path / f".LR2-0123.pt.pid{os.getpid()}@{host}.abcd_123.tmp"
    elsewhere = tmp_path / f".LR3-0123.pt.pid{dead.stdout.strip()}@not-{host}.abcd_123.tmp"
    for path in (leftover, live, elsewhere):
        path.write_bytes(b"half")
    Cache(tmp_path).check_writable()  # as every run does before it trains
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, elsewhere.name])
    assert remove_leftovers(tmp_path) == []


def test_a_failing_or_interrupted_chapter_leaves_no_running_notebook(tmp_path, monkeypatch):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    book_dir, out_dir = tmp_path / "book", tmp_path / "stage"
    _write_chapter(book_dir, "01_x", "x = 1")

    def fails(source, output, **kw):
        nbformat.write(source, output)
        raise PapermillExecutionError(1, 1, "", "RuntimeError", "boom", [])

    monkeypatch.setattr(papermill, "execute_notebook", fails)
    with pytest.raises(pipeline.ChapterError, match=r"RuntimeError: boom\n.*\.01_x\.failed\.ipynb"):
        pipeline.prepare("01_x", "ci", out_dir, execute=False, book_dir=book_dir)

    def interrupted(source, output, **kw):
        nbformat.write(source, output)
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.prepare("01_x", "ci", out_dir, execute=False, book_dir=book_dir)
    assert [p.name for p in out_dir.iterdir()] == [".01_x.failed.ipynb"]  # kept to read; nothing running


# --- 10. summary of a sweep whose axis changes several fields --------------------------------------------------


def test_summary_of_an_axis_of_several_fields():
    sweep = Sweep(
        "K", ModelConfig(n_features=8, d_embed=4, d_hidden=8), (("init_bias,lr", ((0.0, 0.01), (-1.0, 0.02))),)
    )
    table = make_result(sweep).summary()
    assert table["init_bias"].tolist() == [0.0, -1.0] and table["lr"].tolist() == [0.01, 0.02]


# --- 11. small ones --------------------------------------------------------------------------------------------


def test_an_empty_results_folder_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("MONOSEM_RESULTS", "")
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--profile", "ci"])
    assert exc.value.code == 2 and "MONOSEM_RESULTS is set but empty" in _error_lines(capsys)[0]
    monkeypatch.delenv("MONOSEM_RESULTS")
    with pytest.raises(SystemExit) as exc:
        cli.main(["export", "--to", "", "--profile", "ci"])
    assert exc.value.code == 2 and "--to must name a folder" in _error_lines(capsys)[0]


@pytest.mark.parametrize("name", ["²", "١", "1.0"])
def test_chapter_numbers_are_ascii_digits(name):
    with pytest.raises(ValueError, match="unknown chapter"):
        pipeline.resolve_chapter(name)


def test_the_garbage_file_warning_is_ours_not_pytorchs(tmp_path):
    cache = Cache(tmp_path)
    cache.path(LR1).write_bytes(b"garbage")
    with pytest.raises(CacheError) as exc:
        cache.load(LR1)
    assert str(exc.value) == f"cannot read {cache.path(LR1)}: UnpicklingError: Unsupported operand 103"


def test_test_help_says_where_other_arguments_go(capsys):
    with pytest.raises(SystemExit):
        cli.main(["test", "--help"])
    assert "passed on to pytest" in " ".join(capsys.readouterr().out.split())


# --- the rows the first round left: imports that cannot finish, Ray Client without gRPC ---------------------------


def _monosem_main(code_before: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m monosem ARGS` in a fresh interpreter, after `code_before` has run in it."""
    run = f"{code_before}\nimport runpy, sys\nsys.argv = ['monosem', *{list(args)!r}]\n"
    run += "runpy.run_module('monosem', run_name='__main__', alter_sys=True)"
    return subprocess.run([sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ctrl_c_while_pytorch_loads_exits_130_without_a_traceback():
    # Ctrl-C arrives while `import torch` runs: an import hook raises it there, as the signal would
    hook = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())"
    )
    proc = _monosem_main(hook, "list")
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr


def test_without_the_environment_says_how_to_set_it_up():
    # a Python without the packages: an import hook hides torch, as a system Python without the venv would
    hook = (
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Missing())"
    )
    proc = _monosem_main(hook, "list")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and "torch is not installed" in lines[0] and "make setup" in lines[0]


def test_a_ray_client_address_without_grpc_is_one_line(results, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "grpc" else real(name, *a))
    monkeypatch.setattr(cluster, "_connect", lambda *a: pytest.fail("ray.init was reached"))
    calls = _fake_train(monkeypatch)
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--profile", "ci", "--chapter", "1", "--ray", "ray://127.0.0.1:10001"])
    errors = _error_lines(capsys)
    assert exc.value.code == 2 and len(errors) == 1 and "ray[client]" in errors[0], errors
    assert calls == [] and not results.exists()
