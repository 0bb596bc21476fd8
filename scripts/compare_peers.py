"""nnfast against NumPy, PyTorch, JAX and scikit-learn: see ``nnfast/peers.py`` (``--help``)."""
import sys
from nnfast.peers import main
sys.exit(main())
