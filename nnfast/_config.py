"""Settings that change how kernels compile or run, in one place, read once at import.

A test (``tests/test_config.py``) fails if a kernel passes its own ``fastmath=``,
``cache=`` or ``parallel=`` instead of using these.
"""

import os

#: LLVM fast-math flags for every kernel: only ``contract`` (fuse a*b+c into one FMA,
#: which is faster and rounds once instead of twice). No ``reassoc``: the vectorisable
#: exp/tanh/log of ``mathfast.py`` rely on the exact order of their range-reduction
#: arithmetic. No ``nnan``/``ninf``: NaN and infinity checks must keep working.
FASTMATH = {"contract"}

#: Options of every serial kernel. ``cache=True`` writes compiled code to ``__pycache__``
#: (or ``NUMBA_CACHE_DIR``) so a new process loads it instead of compiling again.
JIT = {"cache": True, "nogil": True, "fastmath": FASTMATH}

#: Options of the kernels with a ``prange`` loop over chunks of examples.
JIT_PARALLEL = {**JIT, "parallel": True}

#: Rows (examples) per block in the training kernels: a block's activations and
#: gradients stay in cache between the forward and the backward pass.
BLOCK_ROWS = int(os.environ.get("NNFAST_BLOCK_ROWS", "64"))

#: Below this many multiply-adds per gradient pass (m × number of weights), the
#: training kernels run on one thread: starting threads costs more than it saves.
PARALLEL_MIN_WORK = int(os.environ.get("NNFAST_PARALLEL_MIN_WORK", "2000000"))
