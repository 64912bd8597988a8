"""The one random generator behind every random thing in the project.

``randn``, ``rand``, ``nn.init``, dropout masks, DataLoader shuffling and data
augmentation all draw from :func:`get_generator`, so ``manual_seed(s)`` makes a whole run
reproducible.

>>> from autograd_core import manual_seed, randn
>>> _ = manual_seed(0); a = randn(3)
>>> _ = manual_seed(0); b = randn(3)
>>> bool((a == b).all())
True
"""

import numpy as np

__all__ = ["manual_seed", "get_generator", "seed"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it (a ``numpy.random.Generator``)."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def seed() -> int:
    """Reseed from OS entropy and return the new seed (as ``torch.seed``)."""
    new_seed = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(new_seed)
    return new_seed


def get_generator() -> np.random.Generator:
    """The current global generator. Fetch it at each use: ``manual_seed`` replaces it."""
    return _generator
