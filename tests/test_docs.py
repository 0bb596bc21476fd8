"""Every shell command of README.md works as written.

The commands are taken from the README's ```bash blocks. Each one is checked: its program
exists, and so do its subcommand and options (nnfast's own parser, the scripts' --help,
asv's subcommands when asv is installed, pip extras in pyproject.toml). The cheap ones are
run, in the README's order, in one fresh folder: the Quickstart's planar run, the predict
example, --version. Where a ```text block follows a bash block, it is the output of that
block's last command, and is compared with what the command printed.
"""

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnfast import cli, plots

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None


@dataclass
class Command:
    argv: list          # one simple command, redirections removed
    line: str           # the README line it came from
    block: int          # index of its ```bash block among all fenced blocks


def fenced_blocks(text):
    """``[(language, body), ...]`` of the fenced blocks, and per block whether only prose
    separates it from the next block."""
    blocks = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```\s*$", text, flags=re.M | re.S):
        blocks.append([match.group(1), match.group(2), match.start(), match.end()])
    return blocks


def split_commands(body, block):
    """The simple commands of a shell block: backslash continuations joined, comments
    dropped, split at ``&&``, ``||``, ``|``, ``;`` and ``&``, redirections removed."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        # A | between two words is a synopsis's alternatives (compiled|reference), not a pipe.
        lexer = shlex.shlex(re.sub(r"(?<=\S)\|(?=\S)", "\x1f", line), posix=True,
                            punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        argv, tokens = [], list(lexer)
        i = 0
        while i <= len(tokens):
            token = tokens[i] if i < len(tokens) else ";"
            if token in ("&&", "||", "|", ";", "&"):
                if argv:
                    commands.append(Command(argv, line.strip(), block))
                argv = []
            elif token in (">", ">>", "<", "2>", ">&"):
                i += 1                               # the redirection's target
            else:
                argv.append(token.replace("\x1f", "|"))
            i += 1
    return commands


BLOCKS = fenced_blocks(README.read_text(encoding="utf-8"))
COMMANDS = [c for k, (lang, body, _, _) in enumerate(BLOCKS) if lang in ("bash", "sh", "shell")
            for c in split_commands(body, k)]


def test_the_readme_has_the_commands_this_file_checks():
    names = {" ".join(c.argv[:3]) for c in COMMANDS}
    assert "python -m nnfast" in names and any(c.argv[0] == "asv" for c in COMMANDS)
    assert any("scripts/asv_dashboard.sh" in c.argv[0] for c in COMMANDS)
    # The parser itself: a continuation, a comment, a redirection, a background job.
    got = split_commands("a --x 1 \\\n  --y 'q r' > /dev/null && b|c # c\nd & e | f\n", 0)
    assert [c.argv for c in got] == [["a", "--x", "1", "--y", "q r"], ["b|c"], ["d"], ["e"],
                                     ["f"]]


# ----------------------------------------------------------------------------------------
# Checks: program, subcommand and options exist


def pyproject():
    text = (REPO / "pyproject.toml").read_text()
    if tomllib is not None:
        return tomllib.loads(text)
    pytest.skip("tomllib needs Python 3.11")


def _strip(token):
    return token.strip("[]")


def check_options(parser, args, where):
    """Every --option of ``args`` exists in ``parser``; a value given with it is one of its
    choices (every alternative of ``a|b|c``)."""
    actions = parser._option_string_actions
    i = 0
    while i < len(args):
        token = _strip(args[i])
        i += 1
        if not token.startswith("-") or token == "-":
            continue
        name, eq, value = token.partition("=")
        assert name in actions, f"{where}: {parser.prog} has no option {name}"
        action = actions[name]
        if action.nargs == 0:
            continue
        if not eq and i < len(args):
            value, i = _strip(args[i]), i + 1
        if action.choices is not None and value:
            for alternative in value.split("|"):
                assert alternative in action.choices, (
                    f"{where}: {name} {alternative}: not one of {sorted(action.choices)}")


def check_nnfast(args, where):
    parser = cli.build_parser()
    if args and args[0] in ("--version", "--help", "-h"):
        return
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert args and args[0] in subparsers.choices, (
        f"{where}: nnfast has no subcommand {args[:1]}; it has {sorted(subparsers.choices)}")
    if args[0] == "compare":
        from nnfast import compare

        check_options(compare._parser(), args[1:], where)
    else:
        check_options(subparsers.choices[args[0]], args[1:], where)


def help_text(argv, cwd=REPO):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


def check_help_lists_options(argv_help, args, where):
    status, text = help_text(argv_help)
    assert status == 0, f"{where}: {' '.join(argv_help)} failed:\n{text[-2000:]}"
    for token in args:
        token = _strip(token)
        if token.startswith("-") and token != "-":
            name = token.split("=")[0]
            assert re.search(rf"(^|[\s\[,]){re.escape(name)}\b", text), (
                f"{where}: {name} is not in the output of {' '.join(argv_help)}")


def check_pip(args, where):
    assert args[:1] == ["install"], f"{where}: only pip install is expected"
    extras = pyproject()["project"]["optional-dependencies"]
    for target in args[1:]:
        if target.startswith("-"):
            continue
        match = re.fullmatch(r"(\.|nnfast)(\[([\w,-]+)\])?", target)
        assert match, f"{where}: pip install {target}: expected . or .[extra,...]"
        for extra in filter(None, (match.group(3) or "").split(",")):
            assert extra in extras, f"{where}: no extra {extra!r} in pyproject.toml ({sorted(extras)})"


def asv_executable():
    """asv on PATH, or the one scripts/asv_dashboard.sh installs; None when absent."""
    found = shutil.which("asv")
    if found:
        return found
    local = REPO / "asv_bench" / "env" / "asv-venv" / "bin" / "asv"
    return str(local) if local.exists() else None


_ASV_HELP = {}


def check_asv(args, where):
    asv = asv_executable()
    if asv is None:
        pytest.skip("asv is not installed (pip install '.[bench]'): its subcommands are not "
                    "checked")
    sub = args[0]
    if sub not in _ASV_HELP:
        _ASV_HELP[sub] = help_text([asv, sub, "--help"], cwd=REPO / "asv_bench")
        # asv 0.6 keeps removed subcommands (asv dev) in its parser; their run() raises.
        python = Path(asv).with_name("python")
        probe = ("import inspect, sys\n"
                 "import asv.plugin_manager\n"           # registers every subcommand
                 "from asv.commands import make_argparser\n"
                 "parser, subparsers = make_argparser()\n"
                 "cls = subparsers.choices[sys.argv[1]]._defaults['func'].__self__\n"
                 "print('REMOVED' if 'has been removed' in inspect.getsource(cls.run) else 'OK')\n")
        if python.exists():
            _ASV_HELP[sub] += ("\n" + help_text([str(python), "-c", probe, sub])[1],)
    status, text = _ASV_HELP[sub][:2]
    assert status == 0 and f"usage: asv {sub}" in text, f"{where}: asv has no subcommand {sub}"
    if len(_ASV_HELP[sub]) > 2:
        assert "REMOVED" not in _ASV_HELP[sub][2], f"{where}: asv {sub} has been removed from asv"
    for token in args[1:]:
        if token.startswith("-"):
            name = token.split("=")[0]
            assert re.search(rf"(^|[\s\[,]){re.escape(name)}\b", text), (
                f"{where}: asv {sub} has no option {name}")


_APT_KNOWN = []


def apt_packages_known(packages, where):
    """Each package is in apt's lists (skipped without apt or without package lists). One
    apt-cache call for all of the README's packages: each call takes seconds."""
    if shutil.which("apt-cache") is None:
        return
    if not _APT_KNOWN:
        every = sorted({a for c in COMMANDS if c.argv[:2] == ["apt-get", "install"]
                        for a in c.argv[2:] if not a.startswith("-")} | set(packages))
        proc = subprocess.run(["apt-cache", "show", "--no-all-versions", "bash", *every],
                              capture_output=True, text=True, check=False)
        _APT_KNOWN.append(set(re.findall(r"^Package: (\S+)$", proc.stdout, flags=re.M)))
    known = _APT_KNOWN[0]
    if "bash" not in known:
        return                                       # no package lists on this machine
    missing = [name for name in packages if name not in known]
    assert not missing, f"{where}: apt has no package {', '.join(missing)}"


def block_installs(block):
    """Programs the block's own apt-get install line installs (chromium)."""
    return {a for c in COMMANDS if c.block == block and c.argv[:2] == ["apt-get", "install"]
            for a in c.argv[2:] if not a.startswith("-")}


def check(command):
    argv, where = command.argv, f"README: {command.line}"
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):   # VAR=value cmd
        argv = argv[1:]
    program, args = argv[0], argv[1:]
    if program in ("python", "python3"):
        if args[:1] == ["-m"]:
            module, rest = args[1], args[2:]
            if module == "pip":
                return check_pip(rest, where)
            if module == "nnfast":
                return check_nnfast(rest, where)
            if module == "pytest":
                return
            return check_help_lists_options([sys.executable, "-m", module, "--help"], rest,
                                            where)
        if args[:1] == ["-c"]:
            return ast.parse(args[1])                # run later; here: it is Python
        script = REPO / args[0]
        assert script.is_file(), f"{where}: no file {args[0]}"
        return check_help_lists_options([sys.executable, str(script), "--help"], args[1:],
                                        where)
    if program == "nnfast":
        scripts = pyproject()["project"]["scripts"]
        assert scripts.get("nnfast") == "nnfast.cli:main", f"{where}: no nnfast entry point"
        return check_nnfast(args, where)
    if program.startswith("scripts/"):
        script = REPO / program
        assert script.is_file() and os.access(script, os.X_OK), f"{where}: {program} is not an executable file"
        return check_help_lists_options([str(script), "--help"], args, where)
    if program == "asv":
        return check_asv(args, where)
    if program == "dask":  # distributed's command line: the scheduler and workers of a cluster
        dask = shutil.which("dask", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                          os.environ.get("PATH", "")]))
        if dask is None:
            pytest.skip("dask is not installed (pip install '.[dask]'): its subcommands are not checked")
        return check_help_lists_options([dask, args[0], "--help"], args[1:], where)
    if program == "git":
        status, text = help_text(["git", args[0], "-h"])
        assert f"usage: git {args[0]}" in text, f"{where}: git has no subcommand {args[0]}"
        return
    if program == "cd":
        assert (REPO / args[0]).is_dir(), f"{where}: no folder {args[0]}"
        return
    if program == "apt-get":
        if args[:1] == ["install"]:
            apt_packages_known([a for a in args[1:] if not a.startswith("-")], where)
        return
    if program == "kill":
        return                                       # the shell's
    if program in block_installs(command.block):
        return                                       # installed by the line above it
    pytest.fail(f"{where}: no check for the program {program!r}: add one to tests/test_docs.py")


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c.argv)[:70] for c in COMMANDS])
def test_readme_command_exists(command):
    check(command)


# ----------------------------------------------------------------------------------------
# The cheap commands, run as written


def _runnable(argv, cwd):
    """nnfast planar / predict / --version without synopsis brackets or placeholders, whose
    input files exist by then; python -c one-liners."""
    if argv[:2] == ["python", "-c"]:
        return True
    if argv[:3] == ["python", "-m", "nnfast"]:
        args = argv[3:]
    elif argv[:1] == ["nnfast"]:
        args = argv[1:]
    else:
        return False
    if any(ch in " ".join(args) for ch in "[]|") or any(a in ("DIR", "N", "FILE") for a in args):
        return False
    if args[:1] == ["predict"]:
        return all((cwd / a).is_file() for a in args[1:3])
    return args[:1] in (["planar"], ["--version"])


def _run(argv, cwd, capsys):
    if argv[:2] == ["python", "-c"]:
        proc = subprocess.run([sys.executable, "-c", argv[2]], cwd=cwd, capture_output=True,
                              text=True, timeout=120, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    args = argv[3:] if argv[0] == "python" else argv[1:]
    try:
        status = cli.main(args)
    except SystemExit as exc:                         # --version exits like argparse
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _shown_output(block):
    """The ```text block right after block ``block`` (only prose between), or None."""
    if block + 1 < len(BLOCKS) and BLOCKS[block + 1][0] == "text":
        return BLOCKS[block + 1][1]
    return None


#: Lines of the shown output that differ from run to run or machine to machine: times, and
#: the costs after iteration 7000 (see the README's Quickstart); compared with digits masked.
#: The accuracy too: the two backends may differ by one of the 400 points (tests/test_chapter.py).
_VARIABLE = re.compile(r"first call|^time:|faster per iteration|iteration [89]000:|^Accuracy")


def assert_output_matches(shown, printed, where):
    """Every shown line appears in the printed output, in order; ``...`` stands for any
    lines; variable lines are compared with their numbers masked."""
    def mask(line):
        return re.sub(r"\d+(\.\d+)?", "#", line) if _VARIABLE.search(line) else line

    printed_lines = [mask(line) for line in printed.splitlines()]
    position = 0
    for line in shown.splitlines():
        if line.strip() == "..." or (line.startswith("figure: ") and not plots.available()):
            continue                                  # without matplotlib: no figures
        want = mask(line)
        assert want in printed_lines[position:], (
            f"{where}: the README shows {line!r}, which the command did not print (in this "
            f"order); it printed:\n{printed}")
        position = printed_lines.index(want, position) + 1


def test_cheap_readme_commands_run_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ran, compared = [], 0
    for k, (lang, body, _, _) in enumerate(BLOCKS):
        if lang not in ("bash", "sh", "shell"):
            continue
        last = None
        for command in split_commands(body, k):
            if not _runnable(command.argv, tmp_path):
                continue
            status, out, err = _run(command.argv, tmp_path, capsys)
            assert status == 0, f"README: {command.line}: exit {status}\n{err}"
            ran.append(command.line)
            last = (command, out)
        shown = _shown_output(k)
        if shown is not None:
            assert last is not None, f"README block {k}: output shown for a command not run here"
            assert_output_matches(shown, last[1], f"README: {last[0].line}")
            compared += 1
    assert any("planar --backend both" in line for line in ran), ran
    assert any("predict" in line for line in ran), ran
    assert compared >= 2


def test_version_is_the_packages(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    version = pyproject()["project"]["version"]
    assert capsys.readouterr().out.strip() == f"nnfast {version}"


def test_output_folder_is_ignored_by_git():
    ignored = (REPO / ".gitignore").read_text().split()
    assert f"{cli.DEFAULT_OUT}/" in ignored


# ----------------------------------------------------------------------------------------
# docs/chapter6/report.md: its conclusions follow from its own counts


def _reproduce_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("reproduce_chapter6",
                                                  REPO / "scripts" / "reproduce_chapter6.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_comparison_verdict_follows_from_the_counts_it_prints():
    import numpy as np

    script = _reproduce_script()
    assert script.sign_test_p(7, 0) == pytest.approx(2 / 2**7)
    assert script.sign_test_p(6, 2) == pytest.approx(2 * (1 + 8 + 28) / 2**8)
    assert script.sign_test_p(0, 0) == 1.0
    base = np.full(10, 0.9)
    cases = {  # ex. 5 ahead / level / behind -> verdict
        "seven_none": ((7, 3, 0), "the two-hidden-layer network is better"),   # the old report
        "six_two": ((6, 2, 2), "no consistent difference"),
        "none_eight": ((0, 2, 8), "the 6.9.3 network is better"),
    }
    paired = {}
    for name, ((ahead, level, behind), _) in cases.items():
        paired[name] = (base, base + np.r_[[0.01] * ahead, [0.0] * level, [-0.01] * behind])
    text = script.comparison_verdict(paired, 10, 0.1)
    for name, ((ahead, level, behind), verdict) in cases.items():
        assert (f"{name}: {verdict} (mean difference" in text
                and f"ahead on {ahead}, level on {level} and behind on {behind} of 10" in text), text


_VERDICT = re.compile(r"(\w+): (the two-hidden-layer network is better|the 6\.9\.3 network is "
                      r"better|no consistent difference) \(mean difference [+-][\d.]+, ex\. 5 "
                      r"ahead on (\d+), level on (\d+) and behind on (\d+) of (\d+) splits; sign "
                      r"test p = ([\d.e-]+)\)")


def test_committed_report_names_its_machine_and_its_conclusions_match_its_counts():
    report = (REPO / "docs" / "chapter6" / "report.md").read_text(encoding="utf-8")
    assert re.search(r"^Made on .+ NumPy .+ Numba ", report, flags=re.M), "no machine line"
    assert "## Which of these numbers another machine reproduces" in report
    script = _reproduce_script()
    verdicts = _VERDICT.findall(report)
    assert len(verdicts) == 4, verdicts
    for name, verdict, ahead, level, behind, splits, p in verdicts:
        ahead, level, behind, splits = map(int, (ahead, level, behind, splits))
        assert ahead + level + behind == splits, name
        assert float(p) == pytest.approx(script.sign_test_p(ahead, behind), rel=0.05), name
        significant = script.sign_test_p(ahead, behind) < script.SIGN_TEST_LEVEL
        expected = ("no consistent difference" if not significant else
                    "the two-hidden-layer network is better" if ahead > behind else
                    "the 6.9.3 network is better")
        assert verdict == expected, (name, verdict, ahead, behind)
