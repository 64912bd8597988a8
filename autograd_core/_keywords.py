"""Keyword aliases: DESIGN.md's spellings of a few argument names next to PyTorch's.

Functions take PyTorch's parameter names (``dim``, ``tensors``, ``bias``, ``input``) and
also accept the project's documented spellings as keywords (``d``, ``ts``, ``b``,
``x``), so code written against either works.

>>> @keyword_aliases(d="dim")
... def unsqueeze(t, dim):
...     return dim
>>> unsqueeze(None, d=1), unsqueeze(None, dim=1)
(1, 1)
"""

import functools

__all__ = ["keyword_aliases"]


def keyword_aliases(**aliases):
    """Decorator: ``alias=value`` keywords are passed on as ``name=value``."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if kwargs:
                for alias, name in aliases.items():
                    if alias in kwargs:
                        if name in kwargs:
                            raise TypeError(
                                f"{fn.__name__}() got {alias!r} and {name!r}, two names for "
                                "the same argument"
                            )
                        kwargs[name] = kwargs.pop(alias)
            return fn(*args, **kwargs)

        wrapper.keyword_aliases = dict(aliases)
        return wrapper

    return decorate
