"""Module: the base class of every layer and model, as ``torch.nn.Module``.

A Module owns three ordered registries, filled by plain attribute assignment:

* ``_parameters``: :class:`Parameter` attributes (learnable; ``parameters()``);
* ``_buffers``: tensors registered with :meth:`Module.register_buffer` (state that is
  not learned, e.g. BatchNorm's running statistics);
* ``_modules``: sub-modules (``children()``).

Walking them recursively gives dotted names (``"features.0.weight"``) in registration
order, the same keys PyTorch produces for the same architecture, so a PyTorch
``state_dict`` (converted to NumPy arrays, or even as it is) loads with
:meth:`Module.load_state_dict`.

>>> import nn
>>> class Net(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = nn.Linear(3, 2)
...     def forward(self, x):
...         return self.fc(x).relu()
>>> [name for name, _ in Net().named_parameters()]
['fc.weight', 'fc.bias']

Walking a module never changes it: as in PyTorch, a Parameter does not know the
dotted path it is registered under (one Parameter may be shared by several modules,
under several paths). Graph drawings get those names from the module:
``viz.draw_graph(loss, params=model)`` (or ``params=dict(model.named_parameters())``)
labels the weight ``fc.weight``; a name the user gives a tensor
(``Parameter(x, name="W")``) is used as it is.
"""

import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from autograd_core.errors import DTypeError
from autograd_core.grad_mode import no_grad
from autograd_core.scalar_graph import ordinary
from autograd_core.tensor import Tensor
from autograd_core.versions import mark_modified
from nn.parameter import Parameter

__all__ = ["Module", "IncompatibleKeys", "StateDictError", "RemovableHandle", "check_device"]


def check_device(device, layer: str):
    """Layers accept PyTorch's ``device=`` argument; only the CPU exists here."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(
            f"{layer}: device={device!r} is not available; this engine runs on the CPU"
        )


class StateDictError(RuntimeError, KeyError):
    """``load_state_dict`` found missing or unexpected keys, or mismatched shapes."""

    def __str__(self):  # KeyError would add quotes around the whole message
        return str(self.args[0]) if self.args else ""


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it could not match (both lists)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _as_array(value, key: str) -> np.ndarray:
    """A state-dict value (Tensor, ndarray, number, or a CPU torch tensor) as an array."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor, left as it is
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"load_state_dict: the value for {key!r} is a {type(value).__name__}, "
            f"which is not an array ({error})"
        ) from None
    return array


class Module:
    """Base class for all layers and models: subclass it and write ``forward``.

    Assign Parameters, sub-modules and (via :meth:`register_buffer`) buffers as
    attributes in ``__init__`` after calling ``super().__init__()``; call the module
    (``model(x)``) rather than ``forward`` so hooks run.
    """

    training: bool

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments: "
                f"{args + tuple(kwargs)}"
            )
        # object.__setattr__ bypasses our __setattr__, which needs these to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return new args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; it may return a new output.

        Handy for teaching: record every layer's activations without touching ``forward``.
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ registration
    def _check_initialised(self, what: str):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )

    @staticmethod
    def _check_name(name, what: str):
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{what} name can\'t be empty or contain ".", got {name!r}')

    def register_parameter(self, name: str, param):
        """Add a Parameter (or None, a declared but absent one) under ``name``."""
        self._check_initialised("parameters")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' as parameter '{name}' "
                "(nn.Parameter or None expected; wrap it: nn.Parameter(tensor))"
            )
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True):
        """Add a buffer: state saved in ``state_dict`` (unless ``persistent=False``)
        and converted by ``to(dtype)``, but not a learnable parameter."""
        self._check_initialised("buffers")
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            if isinstance(tensor, np.ndarray):
                tensor = Tensor._make(tensor)
            else:
                raise TypeError(
                    f"cannot assign '{type(tensor).__name__}' as buffer '{name}' "
                    "(Tensor, np.ndarray or None expected)"
                )
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._buffers[name] = ordinary(tensor)  # (.to() and loading replace its array)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module):
        """Add a sub-module (or None) under ``name``; the same as attribute assignment."""
        self._check_initialised("child modules")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'module name can\'t be empty or contain ".", got {name!r}')
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_initialised("parameters")
            self._remove_from(name, d, self._buffers, self._modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_initialised("child modules")
            self._remove_from(name, d, params, self._buffers)
            self.add_module(name, value)
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(Module or None expected)"
                )
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, *registries):
        for registry in registries:
            if name in registry:
                del registry[name]

    def __getattr__(self, name):
        # Only called when normal lookup fails: parameters, buffers and modules live here.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = d.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers)
            | set(self._modules)
        )

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """``(dotted_name, module)`` for this module (name ``""``) and all below it."""
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        # Iterative pre-order walk: deep nets must not hit the recursion limit.
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [
                (name + "." + key if name else key, child)
                for key, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self):
        """This module and every module below it (each once)."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """``(name, module)`` for the direct sub-modules (each once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool):
        seen = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for key, value in getattr(module, registry).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (module_prefix + "." + key if module_prefix else key), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """``(dotted_name, parameter)`` in registration order, shared ones once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """The parameters (each once), in the order of :meth:`named_parameters`."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str):
        """The module at a dotted path (``"features.0"``); ``""`` is this module."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            child = module._modules.get(item)
            if child is None:
                raise AttributeError(
                    f"{type(module).__name__} has no sub-module {item!r} (looking up {target!r})"
                )
            module = child
        return module

    def get_parameter(self, target: str):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r}")
        return module._parameters[name]

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True):
        """Set training mode (dropout active, batch statistics) here and below; returns self.

        As PyTorch: sets this module's flag and calls each child's own ``train(mode)``,
        so a child that overrides ``train`` (say, to keep its BatchNorm frozen) is
        obeyed. ``eval()`` is ``train(False)``.
        """
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be a bool, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        """Switch gradients of every parameter on or off (freeze for fine-tuning); returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True):
        """Reset every parameter's ``.grad`` to None (or to zeros)."""
        for param in self.parameters():
            if param._grad is None:
                continue
            if set_to_none:
                param._grad = None
            elif param._grad._data.flags.writeable:
                param._grad._data[...] = 0
            else:
                param._grad = Tensor._make(np.zeros_like(param._grad._data))

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first), then self; returns self.

        The usual way to re-initialise a model: ``model.apply(init_fn)``.
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ dtype
    def to(self, *args, **kwargs):
        """Convert floating-point parameters and buffers to a dtype, in place; returns self.

        ``to(np.float64)``, ``to("float64")``, ``to(dtype=...)``; devices other than
        ``"cpu"`` do not exist here. Parameters keep their identity (an optimizer made
        earlier still holds them); integer buffers such as ``num_batches_tracked`` stay
        integer.
        """
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "meta"):
                device = arg
            elif type(arg).__name__ == "device":
                device = arg
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to({str(device)!r}): this engine runs on the CPU only "
                             "(torch.cuda.is_available() is False here)")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise DTypeError(
                f"Module.to only accepts floating-point dtypes, got {dtype} "
                "(parameters must stay differentiable)"
            )
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for tensor in registry.values():
                    if tensor is None or tensor._data.dtype.kind != "f":
                        continue
                    if tensor._data.dtype != dtype:
                        tensor._data = tensor._data.astype(dtype)
                    grad = tensor._grad
                    if grad is not None and grad._data.dtype != dtype:
                        grad._data = grad._data.astype(dtype)
        return self

    def double(self):
        """Parameters and floating buffers to float64 (for gradcheck); returns self."""
        return self.to(np.float64)

    def float(self):
        """Parameters and floating buffers to float32; returns self."""
        return self.to(np.float32)

    def half(self):
        """Parameters and floating buffers to float16 (NumPy computes in float16; slow,
        and not PyTorch's mixed precision); returns self."""
        return self.to(np.float16)

    def type(self, dst_type):
        """Parameters and floating buffers to ``dst_type``; returns self."""
        return self.to(dst_type)

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Raises: this library runs on the CPU only."""
        from autograd_core.device import check_device

        check_device("cuda")

    # ------------------------------------------------------------------ state dict
    def _state_entries(self, prefix: str, keep_vars: bool, destination: OrderedDict):
        # PyTorch's order: own parameters, own persistent buffers, then each child.
        # A shared sub-module appears under every path it is reachable by.
        stack = [(prefix, self)]
        while stack:
            module_prefix, module = stack.pop()
            for name, param in module._parameters.items():
                if param is not None:
                    destination[module_prefix + name] = param if keep_vars else param.detach()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    destination[module_prefix + name] = buffer if keep_vars else buffer.detach()
            children = [
                (module_prefix + name + ".", child)
                for name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))
        return destination

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict from dotted names to tensors: parameters and persistent buffers.

        Values are Tensors sharing memory with the module (``keep_vars=True`` gives the
        Parameters themselves). Save it with ``nn.save(model.state_dict(), path)``.
        """
        if destination is None:
            destination = OrderedDict()
        return self._state_entries(prefix, keep_vars, destination)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` (Tensors, NumPy arrays or numbers) into the
        parameters and buffers, keeping their dtypes.

        Every key is checked before anything is copied: with ``strict=True`` missing or
        unexpected keys, and in any case shapes that differ, raise a ``StateDictError``
        (a RuntimeError) listing them by name, and the module is left unchanged.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        ``assign=True`` makes the parameters use the given arrays (converted to the
        parameter's dtype) instead of copying into the existing ones.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"load_state_dict expects a mapping of names to arrays, got "
                f"{type(state_dict).__name__}"
            )
        own = self._state_entries("", True, OrderedDict())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict.keys() if key not in own]
        errors = []
        updates = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key], key)
            if value.dtype.kind not in "biuf":
                errors.append(
                    f"dtype mismatch for {key}: the checkpoint holds dtype {value.dtype}, "
                    "which is not numeric"
                )
                continue
            shape = target._data.shape
            if value.shape != shape:
                if shape == () and value.shape == (1,):
                    value = value.reshape(())  # 0-d values saved as 1-element arrays
                else:
                    errors.append(
                        f"size mismatch for {key}: copying a param with shape {value.shape} "
                        f"from checkpoint, the shape in current model is {shape}."
                    )
                    continue
            updates.append((target, value))
        messages = []
        if strict:
            if missing:
                messages.append(
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + "."
                )
            if unexpected:
                messages.append(
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected) + "."
                )
        messages.extend(errors)
        if messages:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(messages)
            )
        with no_grad():
            for target, value in updates:
                if assign:
                    target._data = np.array(value, dtype=target._data.dtype)
                elif target._data.flags.writeable:
                    np.copyto(target._data, value, casting="unsafe")
                    mark_modified(target)
                else:
                    target._data = np.array(value, dtype=target._data.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr line (override it)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"
