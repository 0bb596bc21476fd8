"""A progress bar for long training runs: tqdm when it can be shown, otherwise nothing.

tqdm is an optional extra (``pip install "nnfast[progress]"``); nnfast never needs it. The
bar is shown only when all of these hold:

- it was not turned off (``enabled=False``, e.g. the command line's ``--quiet``);
- standard output is a terminal (so nothing is drawn into pipes, files or test captures),
  and so is standard error, where tqdm draws;
- tqdm can be imported.

Otherwise :func:`progress_bar` returns a :class:`Progress` that does nothing, so callers
never test for tqdm themselves::

    with progress_bar(total=10, unit="epoch", enabled=not quiet) as bar:
        result = nnfast.train(..., callback=bar)

``bar`` has the signature ``callback(done, total, cost)`` that :func:`nnfast.train` calls
between kernel calls (after each epoch, or after each 1% of the full-batch iterations).
A bar over several runs (the command line's ``sweep``) is advanced with
``bar.advance(amount, note)`` instead; ``bar.write(text)`` prints a line without breaking
the bar. Every bar shows the elapsed time and an estimate of the time left.

A compile of the kernels (tens of seconds, once per machine) has no total to count
towards: :func:`compile_display` shows nnfast's announcement of it (``nnfast._startup``)
followed by a line whose elapsed time counts up until the compile is done.
"""

import sys
import threading

__all__ = ["CompileDisplay", "CompileLines", "Progress", "bar_available", "compile_display",
           "progress_bar"]


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):     # no isatty, or a closed stream
        return False


def _tqdm():
    """The ``tqdm`` class, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def bar_available(enabled=True):
    """True when :func:`progress_bar` would draw a bar (see the module docstring)."""
    return (bool(enabled) and _isatty(sys.stdout) and _isatty(sys.stderr)
            and _tqdm() is not None)


class Progress:
    """A ``callback(done, total, cost)`` for :func:`nnfast.train` that draws a tqdm bar, or
    does nothing when ``bar`` is None.

    Use as a context manager so the bar is closed (and the terminal line finished) even when
    training raises.
    """

    def __init__(self, bar=None):
        self._bar = bar

    @property
    def active(self):
        """True when a bar is being drawn."""
        return self._bar is not None

    def __call__(self, done, total, cost):
        bar = self._bar
        if bar is None:
            return
        if bar.total != total:
            bar.total = total
        bar.set_postfix_str(f"cost={float(cost):.6g}", refresh=False)
        bar.update(done - bar.n)          # redraws, with the new cost

    def advance(self, amount, note=None):
        """Count ``amount`` more units as done; ``note`` replaces the text after the bar."""
        bar = self._bar
        if bar is None:
            return
        if note is not None:
            bar.set_postfix_str(note, refresh=False)
        bar.update(amount)

    def write(self, text):
        """Print ``text`` on standard output, above the bar when one is drawn (a plain print
        would be overwritten by the bar's next redraw)."""
        if self._bar is None:
            print(text)
        else:
            self._bar.write(text, file=sys.stdout)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


#: For totals in weighted work units, whose counts would mean nothing to a reader.
_PERCENT_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed} elapsed, {remaining} left{postfix}]"


def progress_bar(total, *, unit="it", desc=None, enabled=True, percent=False):
    """A :class:`Progress` callback: a tqdm bar over ``total`` ``unit``\\ s (iterations or
    epochs) showing the latest cost, the rate and the time left, or a silent one when the
    bar cannot or should not be shown (see the module docstring). ``percent=True`` shows
    the percentage, the elapsed time and the time left instead of counts and rate.
    """
    if not bar_available(enabled):
        return Progress(None)
    tqdm = _tqdm()
    return Progress(tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, leave=True,
                         dynamic_ncols=True, bar_format=_PERCENT_FORMAT if percent else None))



class CompileLines:
    """A display of a compile for ``nnfast._startup.shown_by``: ``start(text)`` and
    ``end(text)`` print their text on a line of ``file`` (default: standard error)."""

    def __init__(self, file=None):
        self._file = file

    def _print(self, text):
        try:
            print(text, file=sys.stderr if self._file is None else self._file, flush=True)
        except (OSError, ValueError, AttributeError):  # no stream, or a closed one: never stop a compile
            pass

    def start(self, text):
        self._print(text)

    def end(self, text):
        self._print(text)


class CompileDisplay(CompileLines):
    """:class:`CompileLines` and, between ``start`` and ``end``, a line
    ``nnfast: compiling [elapsed]`` on standard error, redrawn every ``interval`` seconds
    by a helper thread (the compiling thread does not return to Python until it is done).
    """

    def __init__(self, tqdm, file=None, interval=0.5):
        super().__init__(file)
        self._tqdm = tqdm
        self._interval = interval
        self._bar = None
        self._done = threading.Event()
        self._ticker = None

    def start(self, text):
        super().start(text)
        self._bar = self._tqdm(total=None, desc="nnfast: compiling", bar_format="{desc} [{elapsed}]",
                               file=sys.stderr, leave=False)
        self._done.clear()
        self._ticker = threading.Thread(target=self._tick, name="nnfast-compile-display", daemon=True)
        self._ticker.start()

    def _tick(self):
        while not self._done.wait(self._interval):
            self._bar.refresh()

    def end(self, text):
        self._done.set()
        self._ticker.join()
        self._bar.close()
        self._bar = self._ticker = None
        super().end(text)


def compile_display(enabled=True, file=None):
    """A :class:`CompileDisplay` when a bar can be shown (see :func:`bar_available`), else
    :class:`CompileLines`; the texts go to ``file`` (default: standard error)."""
    return CompileDisplay(_tqdm(), file) if bar_available(enabled) else CompileLines(file)
