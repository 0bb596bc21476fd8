"""``python -m nnfast`` is the ``nnfast`` command."""

from .cli import main

raise SystemExit(main())
