"""``torch.special``: the special functions under their SciPy-style names.

>>> import autograd_core as torch
>>> torch.special.expit(torch.tensor(0.0)).item()
0.5
"""

from autograd_core.ops.composite import logit, sinc, xlogy
from autograd_core.ops.elementwise import (
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    lgamma,
    log1p,
    round_,
)
from autograd_core.ops.elementwise import sigmoid as expit
from autograd_core.ops.reduce import log_softmax, logsumexp, softmax

gammaln = lgamma
psi = digamma
round = round_  # noqa: A001 - torch.special.round

__all__ = ["digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "lgamma",
           "log1p", "log_softmax", "logit", "logsumexp", "psi", "round", "sinc", "softmax",
           "xlogy"]
