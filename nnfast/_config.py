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
#: ``error_model="numpy"``: a division by zero gives inf/NaN instead of raising, so
#: loops with a division carry no check and vectorise. ``error_model`` and
#: ``forceinline`` are set explicitly because Numba otherwise lets a callee inherit them
#: from the caller it is compiled for, and a callee reached with other flags (as inside
#: a ``prange`` body) is compiled again with its whole call tree.
JIT = {"cache": True, "nogil": True, "fastmath": FASTMATH, "error_model": "numpy", "forceinline": False}

#: Options of the small scalar functions called inside kernel loops (``_exp``,
#: ``_sigmoid``, ...): ``forceinline`` marks them alwaysinline for LLVM, so the loop
#: vectoriser sees their bodies — without it LLVM keeps a call once mathfast's body is
#: inlined into them, and the loop runs one element at a time (measured 5x slower).
JIT_INLINE = {**JIT, "forceinline": True}

#: Options of the dense kernels whose inner loops are dot products: ``reassoc`` lets LLVM
#: keep partial sums in vector lanes (and so vectorise the reduction). They call no
#: ``mathfast`` function. Results are the same on every run of the same build.
JIT_REDUCE = {**JIT, "fastmath": FASTMATH | {"reassoc"}}

#: Options of the kernels with one caller in the training tree (the per-block and
#: per-chunk steps of ``loop.py``): Numba inlines their IR into the caller instead of
#: compiling a library of their own, and every such library would generate machine code
#: for its whole call tree once more (cold compile 21-24 s -> 16-18 s, float64 planar).
JIT_IR_INLINE = {**JIT, "inline": "always"}

#: Bytes of one block's workspace (inputs, Z and A of every layer): the block stays in
#: the L2 cache between its forward and its backward pass. The number of examples per
#: block follows from the layer sizes (see ``_network.block_rows``).
BLOCK_BYTES = int(os.environ.get("NNFAST_BLOCK_BYTES", str(512 * 1024)))

#: Layers with at least this many weights (n[l]·n[l-1]) run their three products through
#: the packed kernel of ``_kernels/gemm.py``; smaller ones through the register-blocked
#: loops of ``_kernels/dense.py``, which need no packing and win on the chapter's 2-4-1
#: and 64-32-10 networks. See docs/ARCHITECTURE.md.
PACKED_MIN_WEIGHTS = int(os.environ.get("NNFAST_PACKED_MIN_WEIGHTS", "4096"))


def _vector_bytes():
    """Bytes of one vector of the packed kernel's tile: 64 (AVX-512's zmm registers) where
    the code Numba generates may use AVX-512F, else 32 (AVX2's ymm). Numba compiles for the
    host's features unless ``NUMBA_CPU_FEATURES`` (or ``NUMBA_CPU_NAME=generic``, no
    features) says otherwise; the same features are in its cache key, so a cache is never
    loaded on a machine of the other width. ``NNFAST_VECTOR_BYTES`` (32 or 64) overrides."""
    forced = os.environ.get("NNFAST_VECTOR_BYTES")
    if forced is not None:
        if forced.strip() not in ("32", "64"):
            raise ImportError(f"NNFAST_VECTOR_BYTES must be 32 or 64; got {forced!r}")
        return int(forced)
    from numba.core import config
    from numba.core.codegen import get_host_cpu_features

    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return 64 if "+avx512f" in features.split(",") else 32


#: Bytes of one vector register the packed kernel's tile is built from (``_kernels/
#: gemm.py``): its rows are two such vectors. Explicit vectors of 64 bytes become zmm
#: instructions on every AVX-512 CPU (LLVM splits only those of functions marked with a
#: smaller "min-legal-vector-width", which Numba never sets). Measured alone, 512 × 784 ×
#: 256 on one core: Zen 5, which has full-width 512-bit FMA units, float32 194 against
#: 103 GFLOP/s with 32 bytes (OpenBLAS 127), float64 94 against 49 (OpenBLAS 60); Zen 4,
#: which splits a 512-bit FMA in two, 108-110 against 104. See docs/ARCHITECTURE.md.
VECTOR_BYTES = _vector_bytes()

#: Cache blocks of the packed kernel, BLIS's (KC, MC, NC): a KC × NR panel of B stays in
#: L1 (32 KB here), an MC × KC block of A in L2 (512 KB here), KC × NC of B in L3 (where
#: an operand is packed at all: see ``gemm``). Rows and columns of every block are whole
#: tiles. Measured on 512 × 784 × 256 (see docs/ARCHITECTURE.md).
GEMM_BLOCKS = {"float32": (256, 96, 4096), "float64": (256, 96, 4096)}

#: The fewest examples per block when a layer is packed: the examples are the column
#: dimension of two of its three products, and a narrow block would leave the tiles'
#: columns mostly empty (float32 tiles are 32 wide).
PACKED_MIN_ROWS = 64

#: Below this many multiply-adds per gradient pass (batch size × number of weights), the
#: training kernels run on one thread: starting threads costs more than it saves. Measured
#: (two threads against one, one epoch): 784-25-10 batch 32 (6.4e5) 1.18×, batch 64
#: 1.30×, batch 256 1.69×; 64-32-10 batch 128 (3e5) 0.96–1.66×, batch 32 (7.6e4) 0.77×.
PARALLEL_MIN_WORK = int(os.environ.get("NNFAST_PARALLEL_MIN_WORK", "500000"))

#: How the compiled kernels evaluate exp, tanh, log and the functions built on them:
#: "fast" — the vectorisable implementations of ``_kernels/mathfast.py`` (<= 2 ulp from
#: the correctly rounded result, tested; several times faster than libm);
#: "libm" — NumPy's functions as Numba compiles them (one scalar libm call per element).
#: Both reproduce the chapter's printed costs. Per call: ``train(..., math=...)``.
MATH_MODES = ("fast", "libm")
MATH = os.environ.get("NNFAST_MATH", "fast")
if MATH not in MATH_MODES:
    raise ImportError(f"NNFAST_MATH must be one of {MATH_MODES}; got {MATH!r}")

#: Threads of the compiled kernels when a call passes no ``threads=``: ``NNFAST_NUM_THREADS``
#: (a whole number >= 1), or None when unset, and ``nnfast._threads`` takes the limits of
#: the environment (``THREAD_LIMIT_VARS``, the CPUs this process may run on).
NUM_THREADS = os.environ.get("NNFAST_NUM_THREADS") or None
if NUM_THREADS is not None:
    if not NUM_THREADS.strip().isdigit() or int(NUM_THREADS) < 1:
        raise ImportError(f"NNFAST_NUM_THREADS must be a whole number >= 1; got {NUM_THREADS!r}")
    NUM_THREADS = int(NUM_THREADS)

#: Variables through which process pools share the cores among their workers, each
#: worker a limit on its threads: joblib's loky backend sets all but TBB's to
#: cpu_count // n_jobs in every worker (``NUMBA_NUM_THREADS`` among them), Dask's nanny
#: sets OMP, MKL and OpenBLAS to 1. Numba itself reads only ``NUMBA_NUM_THREADS``, and
#: only for its own threading layer, which nnfast's kernels do not use.
THREAD_LIMIT_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
