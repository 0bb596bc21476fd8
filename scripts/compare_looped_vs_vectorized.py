"""Looped vs vectorized vs compiled training iterations: see ``nnfast/compare.py`` (``--help``)."""
import sys
from nnfast.compare import main
sys.exit(main())
