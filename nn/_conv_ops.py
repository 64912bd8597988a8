"""TEMPORARY shim until autograd_core.ops.conv / .pool land (removed then)."""

try:
    from autograd_core.ops.conv import conv2d
except ImportError:  # pragma: no cover
    def conv2d(*args, **kwargs):
        raise NotImplementedError("conv2d: autograd_core.ops.conv is not there yet")

try:
    from autograd_core.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
except ImportError:  # pragma: no cover
    def max_pool2d(*args, **kwargs):
        raise NotImplementedError("max_pool2d: autograd_core.ops.pool is not there yet")

    def avg_pool2d(*args, **kwargs):
        raise NotImplementedError("avg_pool2d: autograd_core.ops.pool is not there yet")

    def adaptive_avg_pool2d(*args, **kwargs):
        raise NotImplementedError("adaptive_avg_pool2d: not there yet")
