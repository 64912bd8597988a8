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

__all__ = ["manual_seed", "get_generator", "seed", "Generator", "generator_of", "initial_seed",
           "get_rng_state", "set_rng_state"]

_generator = np.random.default_rng()
_seed_used = None


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it (a ``numpy.random.Generator``)."""
    global _generator, _seed_used
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    _seed_used = int(seed)
    return _generator


def seed() -> int:
    """Reseed from OS entropy and return the new seed (as ``torch.seed``)."""
    new_seed = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(new_seed)
    return new_seed


def get_generator() -> np.random.Generator:
    """The current global generator. Fetch it at each use: ``manual_seed`` replaces it."""
    return _generator


class Generator:
    """A random number generator of its own (``torch.Generator``), for ``generator=``.

    >>> g = Generator().manual_seed(0)
    >>> from autograd_core import rand
    >>> a = rand(2, generator=g); _ = g.manual_seed(0)
    >>> bool((rand(2, generator=g) == a).all())
    True
    """

    def __init__(self, device="cpu"):
        from autograd_core.device import check_device

        check_device(device)
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        """Reseed this generator; returns it (so ``Generator().manual_seed(0)`` chains)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from OS entropy; returns the new seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor-like array (restore with :meth:`set_state`)."""
        import json

        text = json.dumps(self._rng.bit_generator.state)
        return np.frombuffer(text.encode(), dtype=np.uint8).copy()

    def set_state(self, state):
        import json

        array = state._data if hasattr(state, "_data") else np.asarray(state, dtype=np.uint8)
        self._rng.bit_generator.state = json.loads(array.tobytes().decode())
        return self

    @property
    def numpy_generator(self) -> np.random.Generator:
        return self._rng

    def __getattr__(self, name):
        # NumPy's drawing methods (permutation, integers, random, ...), so code written
        # for the NumPy generator (random_split, DataLoader) accepts a Generator too
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._rng, name)


def generator_of(generator) -> np.random.Generator:
    """The NumPy generator behind ``generator=`` (None: the global one)."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be an autograd_core.Generator, got "
                    f"{type(generator).__name__}")


def initial_seed() -> int:
    """The seed of the global generator's last ``manual_seed`` (or of ``seed()``)."""
    return _seed_used


def get_rng_state():
    """The global generator's state (restore with :func:`set_rng_state`)."""
    g = Generator()
    g._rng = _generator
    return g.get_state()


def set_rng_state(state):
    g = Generator()
    g._rng = _generator
    g.set_state(state)
