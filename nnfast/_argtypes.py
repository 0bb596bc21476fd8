"""argparse types shared by the command line (``cli.py``) and ``compare.py``: each turns
a text into a checked number or raises ``ArgumentTypeError`` with the expected and the
given value, which argparse prints as a one-line error (exit status 2)."""

import argparse
import math


def int_at_least(minimum, what):
    """An argparse type: a whole number >= minimum, described as ``what`` in errors."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    return parse


positive_int = int_at_least(1, "a positive integer")
non_negative_int = int_at_least(0, "an integer >= 0")


def float_above(minimum, strict):
    """An argparse type: a finite number > minimum (``strict``) or >= minimum; inf and NaN
    are refused."""
    what = f"a finite number {'>' if strict else '>='} {minimum:g}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (math.isfinite(value) and (value > minimum if strict else value >= minimum)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value
    return parse


positive_float = float_above(0, True)
non_negative_float = float_above(0, False)


def open_unit_float(text):
    """An argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text}")
    return value
