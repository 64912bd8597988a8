"""Data-parallel training: ``DistributedDataParallel``, as ``torch.nn.parallel``.

Each process (``mpirun -n N python train.py``) holds a replica of the model and trains
on its own shard of every global batch (``nn.data.DistributedSampler``); after each
``loss.backward()`` every replica holds the gradient averaged over all processes, so
the optimizers take identical steps and the replicas stay equal::

    import autograd_core.distributed as dist
    dist.init_process_group("mpi")
    model = DistributedDataParallel(nn.Linear(10, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = F.mse_loss(model(x), y)          # forward through the wrapper ...
    loss.backward()                         # ... and the gradients are averaged here
    opt.step()

How the averaging hooks into backward: the engine runs leaf hooks
(``register_hook``, ``register_post_accumulate_grad_hook``) only once the whole pass is
done, which leaves nothing to overlap with, so instead, during the wrapper's forward,
each parameter is seen by the model through an identity node. The
engine visits a node only after every consumer of its output has passed its gradient
back, so when backward reaches a parameter's identity node that parameter's gradient is
complete. The node copies it into its slot of a flat bucket (parameters in reverse
order, ``bucket_cap_mb`` per bucket as PyTorch) and hands the engine that slot; a full
bucket starts a non-blocking all-reduce while backward goes on with the earlier layers
(overlap as far as MPI progresses in the background). One more node, an input of all
the identity nodes and so visited after them, waits for the buckets, divides by the
world size and writes back gradients of parameters this process did not use. The
engine then stores the averaged slots into ``.grad``. A second forward before backward
gets buckets of its own, so that works too.

Buffers (e.g. BatchNorm's running statistics) are broadcast from rank 0 before each
forward in training (``broadcast_buffers=True``), as PyTorch does; each process still
normalises with its own batch's statistics (there is no SyncBatchNorm).
"""

import contextlib

import numpy as np

from autograd_core import distributed as dist
from autograd_core.function import Function
from autograd_core.grad_mode import is_grad_enabled
from autograd_core.tensor import Tensor
from nn.module import Module

__all__ = ["DistributedDataParallel"]


class _Layout:
    """Which bucket and offset each parameter's gradient goes to (fixed at wrap time)."""

    def __init__(self, params, bucket_cap_bytes, first_bucket_bytes):
        self.params = params
        self.slots = [None] * len(params)
        self.buckets = []  # each: dict(dtype, size, members)
        current = None
        # Reverse order: backward produces the last layers' gradients first.
        for index in reversed(range(len(params))):
            array = params[index]._data
            cap = first_bucket_bytes if not self.buckets else bucket_cap_bytes
            if current is None or current["dtype"] != array.dtype or \
                    (current["size"] and (current["size"] + array.size) * array.itemsize > cap):
                current = {"dtype": array.dtype, "size": 0, "members": []}
                self.buckets.append(current)
            self.slots[index] = (len(self.buckets) - 1, current["size"], array.size,
                                 array.shape)
            current["members"].append(index)
            current["size"] += array.size

    @property
    def nbytes(self) -> int:
        return sum(b["size"] * np.dtype(b["dtype"]).itemsize for b in self.buckets)


class _Reduction:
    """One forward's buckets: filled by backward, all-reduced in bucket order."""

    def __init__(self, ddp, include_local):
        self.ddp = ddp
        self.layout = ddp._layout
        self.include_local = include_local
        self.buffers = [None] * len(self.layout.buckets)
        self.pending = [len(b["members"]) for b in self.layout.buckets]
        self.filled = set()
        self.next_bucket = 0
        self.works = []

    def buffer(self, b):
        if self.buffers[b] is None:
            spec = self.layout.buckets[b]
            self.buffers[b] = np.empty(spec["size"], dtype=spec["dtype"])
        return self.buffers[b]

    def slot(self, index):
        b, offset, size, shape = self.layout.slots[index]
        return self.buffer(b)[offset:offset + size].reshape(shape)

    def put(self, index, grad):
        if index in self.filled:
            raise RuntimeError(
                "DistributedDataParallel: a parameter received its gradient twice from one "
                "forward (backward ran twice over the same graph?); run a new forward first"
            )
        view = self.slot(index)
        local = self.layout.params[index].grad if self.include_local else None
        if local is not None:
            np.add(grad, local._data, out=view)  # gradients accumulated under no_sync()
        else:
            view[...] = grad
        self.filled.add(index)
        b = self.layout.slots[index][0]
        self.pending[b] -= 1
        self._launch_ready()
        return view

    def _launch_ready(self):
        # Start buckets strictly in order, so every process issues the same sequence.
        while self.next_bucket < len(self.pending) and self.pending[self.next_bucket] == 0:
            work = dist._all_reduce_array(self.buffers[self.next_bucket], async_op=True)
            self.works.append(work)
            self.next_bucket += 1
            self.ddp._bytes_reduced += self.buffers[self.next_bucket - 1].nbytes

    def finish(self):
        params = self.layout.params
        unused = [i for i in range(len(params)) if i not in self.filled]
        for index in unused:  # not used by this process: contribute zeros (or no_sync grads)
            view = self.slot(index)
            local = params[index].grad if self.include_local else None
            view[...] = local._data if local is not None else 0
            self.pending[self.layout.slots[index][0]] -= 1
        self._launch_ready()
        size = dist.get_world_size()
        for work in self.works:
            work.wait()
        for buffer in self.buffers:
            if buffer is not None:
                buffer /= size
        if self.include_local:
            for index in self.filled:
                params[index].grad = None  # the engine stores the averaged slot next
        for index in unused:
            view = self.slot(index)
            if params[index].grad is not None or view.any():
                params[index].grad = Tensor._make(view.copy())


class _GradReady(Function):
    """Identity on a parameter; in backward, hands its complete gradient to the bucket."""

    @staticmethod
    def forward(ctx, param, token, reduction=None, index=0):
        return param

    @staticmethod
    def backward(ctx, grad):
        reduction, index = ctx.options["reduction"], ctx.options["index"]
        return reduction.put(index, grad), np.zeros((), dtype=np.float32)


class _AllReady(Function):
    """Input of every _GradReady node, so backward visits it after all of them."""

    @staticmethod
    def forward(ctx, anchor, reduction=None):
        return anchor

    @staticmethod
    def backward(ctx, grad):
        ctx.options["reduction"].finish()
        return (None,)


class DistributedDataParallel(Module):
    """Wrap ``module`` so that backward averages its gradients over all processes.

    Needs :func:`autograd_core.distributed.init_process_group` first. At construction
    the parameters and buffers of rank 0 are broadcast to every process. ``module`` is
    the wrapped model; state-dict keys carry PyTorch's ``module.`` prefix.

    Parameters (as PyTorch; the device arguments are accepted for compatibility)
    ----------
    broadcast_buffers : bool
        Broadcast rank 0's buffers before each training forward.
    bucket_cap_mb : float
        Size of a gradient bucket (25 MB; the first bucket is 1 MB, as PyTorch).
    find_unused_parameters : bool
        Accepted; parameters a process did not use are always handled (they
        contribute zeros to the average).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got "
                            f"{type(module).__name__}")
        if device_ids not in (None, [], ["cpu"]) or output_device not in (None, "cpu"):
            raise ValueError("DistributedDataParallel: this library runs on the CPU; leave "
                             "device_ids and output_device as None")
        if process_group is not None and process_group is not dist._group:
            raise ValueError("DistributedDataParallel: only the default process group exists")
        dist.get_world_size()  # raises a clear error before init_process_group
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if not cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb}")
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_layout", _Layout(
            params, int(cap_mb * 2**20), min(int(cap_mb * 2**20), 2**20)))
        object.__setattr__(self, "_index", {id(p): i for i, p in enumerate(params)})
        object.__setattr__(self, "_bytes_reduced", 0)
        self._sync_module_states()

    # ---------------------------------------------------------------- communication
    def _sync_module_states(self):
        for tensor in list(self.module.parameters()) + list(self.module.buffers()):
            dist.broadcast(tensor, src=0)

    @property
    def bucket_count(self) -> int:
        """How many all-reduces one synchronised backward issues."""
        return len(self._layout.buckets)

    @property
    def bytes_per_step(self) -> int:
        """Bytes of gradients all-reduced by one synchronised backward."""
        return self._layout.nbytes

    @contextlib.contextmanager
    def no_sync(self):
        """Backwards of forwards run inside only accumulate local gradients; the first
        synchronised backward afterwards averages the accumulated sum (as PyTorch)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ---------------------------------------------------------------- forward
    def forward(self, *inputs, **kwargs):
        if self.training and self.broadcast_buffers and dist.get_world_size() > 1:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)
        if not (is_grad_enabled() and self.require_backward_grad_sync):
            return self.module(*inputs, **kwargs)
        params = self._layout.params
        reduction = _Reduction(self, include_local=True)
        anchor = Tensor(np.zeros((), dtype=np.float32), requires_grad=True)
        token = _AllReady.apply(anchor, reduction=reduction)
        stand_ins = {id(p): _GradReady.apply(p, token, reduction=reduction, index=i)
                     for i, p in enumerate(params)}
        swapped = []
        try:
            for module in self.module.modules():
                registry = module._parameters
                for name, param in registry.items():
                    if param is not None and id(param) in stand_ins:
                        swapped.append((registry, name, param))
                        registry[name] = stand_ins[id(param)]
            return self.module(*inputs, **kwargs)
        finally:
            for registry, name, param in swapped:
                registry[name] = param

    def extra_repr(self) -> str:
        return (f"world_size={dist.get_world_size() if dist.is_initialized() else '?'}, "
                f"buckets={self.bucket_count}, "
                f"bytes_per_step={self.bytes_per_step:,}")
