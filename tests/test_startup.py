"""Start-up in new processes: a compile says so once and a cache hit says nothing; ``nnfast
compile`` fills the cache for every call; the cache works from a read-only install, in
``NUMBA_CACHE_DIR``, and is never used once the kernel sources change.

Every test runs Python in a subprocess with a cache of its own (a new ``NUMBA_CACHE_DIR``,
or a new copy of the package), so what it sees is what a new user's first process sees.
Only one test compiles the whole training tree (about half a minute per dtype on 2
cores); the others compile one small kernel (a few seconds). No test asserts a time: the
times are in ``asv_bench/benchmarks/bench_startup.py``.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nnfast
from nnfast import _cache

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(nnfast.__file__).resolve().parent

ANNOUNCED = re.compile(r"^nnfast: compiling the (float32|float64) (.+) for this machine \((.+), once: later "
                       r"runs load them from the cache in (.+)\)$")
DONE = re.compile(r"^nnfast: compiled in \d+\.\d s$")

#: One small kernel (the activations'), twice in float64 and once in float32.
SMALL_CALLS = ("import numpy as np, nnfast\n"
               "nnfast.compiled.tanh(np.zeros(3))\n"
               "nnfast.compiled.tanh(np.ones((2, 2)))\n"
               "nnfast.compiled.tanh(np.zeros(3, np.float32))\n"
               "print(nnfast.__file__)\n")


def python(code, *, path=REPO, cache_dir=None, env=None, prefix=(), cwd=None):
    """Run ``code`` in a new Python that imports nnfast from ``path``, with
    ``NUMBA_CACHE_DIR=cache_dir`` (None: unset) and the variables ``env`` (None: unset).
    Returns the CompletedProcess."""
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    environ["PYTHONPATH"] = str(path)
    if cache_dir is not None:
        environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run([*prefix, sys.executable, "-c", code], env=environ, cwd=cwd or path,
                          capture_output=True, text=True, timeout=900, check=False)


def announcements(stderr):
    """``[(dtype, what, cache folder), ...]`` of the compile announcements in ``stderr``;
    fails on any other line (a done line must follow each announcement)."""
    found, lines = [], stderr.splitlines()
    for i, line in enumerate(lines):
        match = ANNOUNCED.match(line)
        if match:
            assert i + 1 < len(lines) and DONE.match(lines[i + 1]), stderr
            found.append((match.group(1), match.group(2), Path(match.group(4))))
        else:
            assert DONE.match(line), f"unexpected line on stderr: {line!r}\n{stderr}"
    return found


def copy_package(target):
    """A copy of the nnfast package (sources only, no cache) in ``target/nnfast``."""
    shutil.copytree(PACKAGE, target / "nnfast", ignore=shutil.ignore_patterns("__pycache__"))
    return target / "nnfast"


def cache_files(folder):
    return sorted(p.name for p in Path(folder).rglob("*") if p.suffix in (".nbi", ".nbc"))


# ----------------------------------------------------------------------------------------
# The announcement


def test_a_compile_is_announced_once_per_dtype_and_a_cache_hit_says_nothing(tmp_path):
    cache = tmp_path / "cache"
    cold = python(SMALL_CALLS, cache_dir=cache)
    assert cold.returncode == 0, cold.stderr
    said = announcements(cold.stderr)
    assert [dtype for dtype, _, _ in said] == ["float64", "float32"], cold.stderr
    folder = said[0][2]
    # NUMBA_CACHE_DIR is honoured, and the announcement names the folder really used.
    assert folder.parent == cache and folder == said[1][2]
    assert any(name.endswith(".nbi") for name in cache_files(folder))
    assert (folder / _cache.STAMP_NAME).read_text().strip() == _cache.source_stamp()

    warm = python(SMALL_CALLS, cache_dir=cache)
    assert warm.returncode == 0 and warm.stderr == "", warm.stderr


def test_compile_command_fills_the_cache_for_every_call_of_its_dtype(tmp_path):
    """``nnfast compile --dtype float64`` in an empty cache; then a process making the
    public API's calls in every form (layouts, full and mini-batch, threads, math modes,
    optimizers, schedules, L2 and clipping, the chapter's functions) loads everything and
    compiles nothing."""
    cache = tmp_path / "cache"
    run = python("from nnfast.cli import main; raise SystemExit(main(['compile', '--dtype', 'float64']))",
                 cache_dir=cache)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert re.fullmatch(rf"float64: compiling every kernel into {re.escape(str(cache))}/\S+ \(or loading "
                        r"them from it\)", lines[0]), run.stdout
    assert re.fullmatch(r"float64: compiled in \d+\.\d s", lines[1]), run.stdout
    assert run.stderr == "", run.stderr  # the command reports on stdout, not per kernel

    calls = """
import warnings
import numpy as np
import nnfast
from nnfast import compiled, _precompile
rng = np.random.default_rng(1)
for dims, acts in (((2, 4, 1), ("tanh", "sigmoid")), ((784, 25, 10), ("tanh", "softmax")),
                   ((20, 300, 300, 1), ("relu", "arctan", "identity"))):
    m = 150
    X = rng.standard_normal((dims[0], m))
    Y = np.eye(dims[-1])[:, rng.integers(0, dims[-1], m)] if dims[-1] > 1 else (X[:1] > 0) * 1.0
    for data in (X, np.ascontiguousarray(X.T).T, np.repeat(X, 2, axis=1)[:, ::2]):
        for kw in (dict(num_iterations=2), dict(batch_size=32, epochs=2)):
            for threads, math in ((None, None), (1, "libm"), (2, "fast")):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    r = nnfast.train(data, Y, dims, acts, learning_rate=0.01, seed=0, threads=threads,
                                     math=math, **kw)
        nnfast.train(data, Y, dims, acts, learning_rate=0.01, num_iterations=300, callback=lambda *a: None)
        for optimizer, schedule in zip(nnfast.optimizers.OPTIMIZERS, ("step", "exponential", "invscaling",
                                                                     "cosine", "constant", "step")):
            nnfast.train(data, Y, dims, acts, learning_rate=0.001, batch_size=64, epochs=2, optimizer=optimizer,
                         schedule=schedule, l2=1e-4, clip_norm=1.0)
        nnfast.gradients(data, Y, r.parameters, acts, threads=2)
        nnfast.predict(r.parameters, data, acts)
        nnfast.predict_proba(r.parameters, data, acts, threads=1)
X = rng.standard_normal((2, 400))
Y = (X[:1] > 0) * 1.0
p = compiled.nn_model(X, Y, 4, num_iterations=10)
compiled.predict(p, X)
AL, cache = compiled.forward_propagation(X, p)
compiled.update_parameters(p, compiled.backward_propagation(p, cache, X, Y))
compiled.compute_cost(AL, Y)
compiled.linear_forward(X, p["W1"], p["b1"])
compiled.linear_backward(cache["Z1"], X, p["W1"])
for name in nnfast.ACTIVATIONS:
    getattr(compiled, name)(X)
    if name != "softmax":
        getattr(compiled, name + "_derivative")(X)
print("compiles:", _precompile._cache_misses())
"""
    warm = python(calls, cache_dir=cache)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.splitlines()[-1] == "compiles: 0" and warm.stderr == "", warm.stdout + warm.stderr

    again = python("from nnfast.cli import main; main(['compile', '--dtype', 'float64'])", cache_dir=cache)
    assert re.fullmatch(r"float64: already in the cache, loaded in \d+\.\d s", again.stdout.splitlines()[1]), \
        again.stdout

    # Every kernel that nnfast's Python code calls (the entry points: the kernels each
    # module outside _kernels imports) has been compiled by the command: a new entry point
    # that nnfast compile does not reach fails here.
    entry_points = """
import sys
from numba.core.dispatcher import Dispatcher
from nnfast import _precompile
_precompile.precompile("float64")
print(sorted(f"{name}.{attr}" for name, module in list(sys.modules.items())
             if name.startswith("nnfast") and not name.startswith("nnfast._kernels") and module is not None
             for attr, value in vars(module).items() if isinstance(value, Dispatcher) and not value.signatures))
"""
    run = python(entry_points, cache_dir=cache)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert run.stdout.strip() == "[]", f"entry points that nnfast compile does not compile: {run.stdout}"


# ----------------------------------------------------------------------------------------
# Where the cache is: a read-only install


def _read_only_prefix(folder):
    """A command prefix under which ``folder`` cannot be written to. chmod is enough for
    a normal user; root writes anywhere, so for root ``folder`` is also mounted read-only
    in a mount namespace of the child's own (skipped where that is not allowed)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    if os.geteuid() != 0:
        return ()
    prefix = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', str(folder))
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip(f"running as root, and {folder} cannot be mounted read-only here "
                    f"(unshare --mount: {probe.stderr.strip()})")
    return prefix


def test_a_read_only_install_caches_in_the_users_cache_folder(tmp_path):
    """pip install --target into a folder, made read-only: Numba caches the kernels in
    the user's cache folder instead (~/.cache/numba), and the next process loads them;
    with no writable folder at all, import says to set NUMBA_CACHE_DIR."""
    source = tmp_path / "source"
    copy_package(source)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    site = tmp_path / "site"
    # Built as any install builds it: pip fetches the build backend (pyproject.toml's
    # build-system) into an environment of its own.
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                          "--target", str(site), str(source)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (site / "nnfast" / "_kernels").is_dir()
    prefix = _read_only_prefix(site)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": None}
    probe = SMALL_CALLS + ("import pathlib\n"
                           "try:\n"
                           "    (pathlib.Path(nnfast.__file__).parent / 'probe').write_text('')\n"
                           "    print('writable')\n"
                           "except OSError:\n"
                           "    print('read-only')\n")
    cold = python(probe, path=site, env=env, prefix=prefix, cwd=tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.split() == [str(site / "nnfast" / "__init__.py"), "read-only"]
    folders = {folder for _, _, folder in announcements(cold.stderr)}
    assert len(folders) == 1 and (folder := folders.pop()).parent == home / ".cache" / "numba"
    assert cache_files(folder) and not cache_files(site)

    warm = python(probe, path=site, env=env, prefix=prefix, cwd=tmp_path)
    assert warm.returncode == 0 and warm.stderr == "", warm.stderr

    # The user's cache folder not writable either: a clear error, and NUMBA_CACHE_DIR helps.
    env["HOME"] = str(site)
    nowhere = python("import nnfast", path=site, env=env, prefix=prefix, cwd=tmp_path)
    assert nowhere.returncode == 1
    assert "ImportError: nnfast: Numba can cache the compiled kernels nowhere: " in nowhere.stderr
    assert "NUMBA_CACHE_DIR is not set; set NUMBA_CACHE_DIR to a writable folder" in nowhere.stderr
    given = python(probe, path=site, env=env, prefix=prefix, cwd=tmp_path, cache_dir=tmp_path / "cache")
    assert given.returncode == 0, given.stderr
    assert {folder.parent for _, _, folder in announcements(given.stderr)} == {tmp_path / "cache"}


# ----------------------------------------------------------------------------------------
# A stale cache is never used


def test_changed_kernel_sources_are_compiled_again_never_loaded_from_the_cache(tmp_path):
    """A copy of the package and a cache of its own. Numba alone compares a function with
    its own file only; nnfast's stamp covers every kernel file and the compile options."""
    copy = copy_package(tmp_path / "pkg")
    cache = tmp_path / "cache"
    code = "import numpy as np, nnfast\nnnfast.compiled.tanh(np.zeros(3))\n"

    def compiles():
        run = python(code, path=copy.parent, cache_dir=cache)
        assert run.returncode == 0, run.stderr
        return len(announcements(run.stderr))

    assert compiles() == 1
    assert compiles() == 0                                   # warm
    edits = [copy / "_kernels" / "activations.py",           # the kernel's own file
             copy / "_kernels" / "mathfast.py",              # a callee's file: Numba would not notice
             copy / "_config.py"]                            # the compile options
    for path in edits:
        with open(path, "a") as f:
            f.write("\n# changed by the test: a new version of the package\n")
        assert compiles() == 1, f"{path.name} changed, yet the kernels were loaded from the cache"
        assert compiles() == 0, f"after {path.name} changed and was compiled once"


def test_discard_stale_empties_only_a_folder_whose_stamp_differs(tmp_path):
    fresh, stale, unstamped = (tmp_path / name for name in ("fresh", "stale", "unstamped"))
    for folder in (fresh, stale, unstamped):
        folder.mkdir()
        for name in ("f-1.py311.nbi", "f-1.py311.1.nbc", "keep.pyc"):
            (folder / name).write_bytes(b"x")
    (fresh / _cache.STAMP_NAME).write_text(_cache.source_stamp() + "\n")
    (stale / _cache.STAMP_NAME).write_text("0" * 64 + "\n")
    assert _cache.discard_stale([fresh, stale, unstamped]) == [stale, unstamped]
    assert sorted(p.name for p in fresh.iterdir()) == sorted(["f-1.py311.nbi", "f-1.py311.1.nbc", "keep.pyc",
                                                               _cache.STAMP_NAME])
    for folder in (stale, unstamped):
        assert sorted(p.name for p in folder.iterdir()) == sorted(["keep.pyc", _cache.STAMP_NAME])
        assert (folder / _cache.STAMP_NAME).read_text().strip() == _cache.source_stamp()
    assert _cache.discard_stale([fresh, stale, unstamped]) == []


def test_the_kernels_share_one_cache_folder_and_the_stamp_covers_their_sources():
    folders = _cache.cache_folders()
    assert len(folders) == 1 and len(_cache.kernel_dispatchers()) > 10
    names = {p.name for p in _cache.source_files()}
    assert {"_config.py", "loop.py", "mathfast.py"} <= names
    assert all(p.parent.name == "_kernels" for p in _cache.source_files() if p.name != "_config.py")
