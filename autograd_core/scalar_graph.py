"""Lean scalar graphs: micrograd-sized ops on float64 0-d tensors, faster than micrograd.

A teaching graph is thousands of ops on single numbers. Recording each one as the array
path does (a ``Context``, a 0-d array, the op's ``forward`` and ``backward`` called
through NumPy) costs about ten times what the arithmetic does. So ``+ - * / **``,
negation, ``relu``, ``exp``, ``log``, ``tanh`` and ``sigmoid`` on float64 0-d tensors
(with Python numbers and NumPy float64 numbers as constants) take this path instead,
through the Tensor operators and methods and through the functional forms
(``Function.lean_apply``, tried by ``function._apply_scalar``):

* **Forward.** The output is a :class:`LeanScalar`, a :class:`~autograd_core.Tensor`
  subclass that holds its value as a Python float (``_value``) and a lean node: the
  tuple ``(op, a, b, value of a, value of b, which inputs need grad, epoch)``, plus its
  creation number (``_seq``). Its 0-d array and its ``Context`` are made only when
  something reads them (LeanScalar's properties fill ``_data`` from the value; reading
  ``_ctx`` turns the tensor and its lean ancestors into ordinary nodes, plain Tensors
  again: :func:`materialise`). A Python
  float is a float64: + - * / are the same IEEE operations, and exp, log, tanh and **
  call NumPy's own functions, so the values are the array path's to the bit.
* **Backward.** ``Tensor.backward()`` on a lean output runs :func:`backward`: the
  nodes in reverse creation order (a topological order: every node is made after its
  inputs, so its gradient is complete when it runs), each applying its op's local
  derivative exactly as the op's Function writes it (``g * b`` and ``g * a`` for
  ``a * b``, ``-g * out / b`` for ``a / b``, ...) and adding into its inputs' sums;
  inputs are found as the loop goes. Leaves receive ``.grad`` at the end as the
  engine gives it (a new 0-d array, or added in place).
* **Speed.** On micrograd's moons MLP (13,555 nodes) a forward + backward takes about
  0.6x micrograd's time (``python -m benchmarks --only scalar``). Each op reads a
  handful of fields, and what is left of the checks runs once: grad mode through one
  module flag (``grad_mode.on_everywhere``), an ordinary operand's shape and dtype once
  per array (its unused ``_lean`` slot keeps the array they passed on).

What a user or a teaching tool can see is the same as on the array path: values, dtypes,
``grad_fn`` and its ``next_functions`` (made on first access, with the same Function,
saved values and names), viz's drawings and steps, ``retain_graph`` (a second backward
without it raises), and the refusal of inputs changed in place. The one difference is the
order in which several contributions to one gradient are added (creation order, not the
engine's depth-first order), which can change a sum's last bit. One difference in
lifetimes: a lean node holds its input tensors (micrograd's do too), where an engine
node holds its inputs' nodes.

Anything the lean loop does not cover falls back to the general engine, which first
materialises the lean nodes: another dtype (float32, the default, keeps the NumPy-scalar
fast path), broadcasting, other ops, hooks, ``retain_grad()``, ``create_graph``,
``inputs=``, an explicit gradient, a division by zero, ``log 0``, or an in-place change
since the forward.

>>> import numpy as np
>>> from autograd_core import Tensor
>>> w = Tensor(np.float64(2.0), requires_grad=True)
>>> y = (w * w + 3 * w).relu()          # lean: no Context or 0-d array is made
>>> y.backward()
>>> w.grad.item()                       # dy/dw = 2w + 3
7.0
>>> y.grad_fn.name(), y.grad_fn.next_functions[0][0].name()
('ReluBackward0', 'AddBackward0')
"""

import contextlib
import itertools
import threading
import weakref

import numpy as np

from autograd_core import grad_mode, versions
from autograd_core.function import Context, _sources, accumulator
from autograd_core.grad_mode import _state
from autograd_core.ops import elementwise as ew
from autograd_core.tensor import Tensor

__all__ = ["operators", "switched_off", "backward", "materialise", "ordinary",
           "fill_field", "LAZY_FIELDS"]

_F64 = np.dtype(np.float64)
_NP_FLOAT64 = np.float64
_EXACT_INT = 2 ** 53  # Python ints up to this are exact as floats: both paths see one value
_creation = itertools.count()  # creation order of lean nodes: a topological order

# Op codes (the first field of a lean node); FUNCTIONS[code] is the op's Function.
ADD, SUB, MUL, DIV, NEG, RELU, EXP, LOG, TANH, SIGMOID, POW = range(11)
_UNARY = frozenset((NEG, RELU, EXP, LOG, TANH, SIGMOID))
# exp, log and tanh call NumPy's own functions (on a Python float: the same compiled
# loop as on a NumPy scalar, so the same bits as the array path; the C library's
# ``math.exp`` may differ in the last bit)
_np_exp, _np_log, _np_tanh, _np_power = np.exp, np.log, np.tanh, np.power

class _Pass:
    """One backward pass's visit mark: each node the pass reaches gets it as ``_lmark``.

    ``freed`` turns True when the pass ends without ``retain_graph``: then every node it
    ran counts as freed (a second backward raises, as on the array path) by that one
    write, where marking each node would cost a list of them and a loop over it.
    """

    __slots__ = ("freed",)

    def __init__(self):
        self.freed = False


def _freed(mark) -> bool:
    """Whether a node's ``_lmark`` says a pass freed its saved values."""
    return mark is not None and mark.freed


FUNCTIONS = (ew.Add, ew.Sub, ew.Mul, ew.Div, ew.Neg, ew.Relu, ew.Exp, ew.Log, ew.Tanh,
             ew.Sigmoid, ew.Pow)


# ---------------------------------------------------------------------- the lean type
class LeanScalar(Tensor):
    """A Tensor made by a lean op: ``_value`` (a Python float) and ``_lean`` (its node) set,
    every other field filled on first read (``LAZY_FIELDS``, :func:`fill_field`).

    A subclass rather than a ``Tensor.__getattr__`` because CPython does not specialise
    attribute reads on a class that defines ``__getattr__``: with it, every field read on
    every tensor, lean or not, went through the generic lookup (about 17 ns more a read
    here, and a scalar op reads a dozen). So the lazy fields are properties of this
    class alone, and the fields the lean loops use (``_value``, ``_lean``, ``_seq``,
    ``_lmark``, ``_lgrad``) stay plain slots. :func:`materialise` turns an instance into
    a plain :class:`Tensor` (its class is reassigned: the layout is the same).
    ``isinstance(t, Tensor)`` holds for both.
    """

    __slots__ = ()

    # ``LeanScalar()`` makes an empty instance (the lean ops set its fields): object's
    # own C ``__init__`` instead of Tensor's, measured 63 ns against 79 for
    # ``object.__new__(LeanScalar)``, whose argument checks run in Python's wrapper.
    __init__ = object.__init__


def _lazy_field(name):
    """A property of LeanScalar over Tensor's slot ``name``: filled on first read."""
    slot = Tensor.__dict__[name]
    read, write = slot.__get__, slot.__set__

    def getter(self):
        try:
            return read(self)
        except AttributeError:
            return fill_field(self, name)

    def setter(self, value):
        write(self, value)

    return property(getter, setter, doc=f"``{name}``, filled on first read (scalar_graph)")


# ------------------------------------------------------------------------------ forward
def _lean_output(value, node):
    """A lean tensor holding ``value`` (a Python float) and ``node``, unless no gradient
    is wanted (``node`` None, or grad mode off): then a lean constant."""
    out = LeanScalar()
    out._value = value
    out._lmark = None
    if node is not None and (grad_mode.on_everywhere or _state.enabled):
        out._lean = node
        out._seq = next(_creation)
    else:
        out._lean = None
    return out


def _binary_operator(code, function, reflected, apply=None):
    """Tensor's operator for ``self <op> other`` (``other <op> self`` when ``reflected``):
    a lean node when both operands qualify, else ``function.apply`` (the array path).

    An operand qualifies as a float64 0-d Tensor (lean, or an ordinary leaf or constant),
    a Python float or int, or a NumPy float64 number. The operand checks are inline (the
    two directions written out): this runs once per scalar op, and each step costs
    about as much as the arithmetic. An ordinary operand's shape and dtype checks run
    once per array: its ``_lean`` slot (a lean tensor's node, unused on an ordinary
    tensor) keeps the array that passed them, so a parameter in thousands of ops skips
    them until its array is replaced. Its value is still read every time (optimizers
    change it in place). ``apply`` replaces the fallback (the functional forms' hook
    passes one that declines).
    """
    apply = apply or function.apply
    f64 = _F64

    def operator(self, other):
        va = self._value
        if va is None:  # an ordinary tensor: lean only as a 0-d float64 leaf or constant
            data = self._data
            if self._ctx is not None:
                return apply(self, other)  # a node of the array graph
            if self._lean is not data:  # (the checks ran on this array before: skipped)
                if data.shape or data.dtype is not f64:
                    return apply(self, other)  # arrays, or another dtype
                self._lean = data
            needs = 1 if self._requires_grad else 0
            va = data.item()
        else:
            needs = 0 if self._lean is None else 1
        kind = type(other)
        if kind is LeanScalar:
            vb = other._value
            if other._lean is not None:
                needs |= 2
        elif kind is Tensor:
            data = other._data
            if other._ctx is not None:
                return apply(self, other)
            if other._lean is not data:
                if data.shape or data.dtype is not f64:
                    return apply(self, other)
                other._lean = data
            if other._requires_grad:
                needs |= 2
            vb = data.item()
        elif kind is float or (kind is int and -_EXACT_INT <= other <= _EXACT_INT):
            vb = other
        elif kind is _NP_FLOAT64:
            vb = float(other)  # (a NumPy float64 constant: the same value, computed alike)
        else:
            return apply(self, other)
        # (the arithmetic and the output written out, not called: a call each for them
        # measured 6 % of a whole micrograd step; the reflected operator repeats them)
        if code == MUL:
            value = va * vb
        elif code == ADD:
            value = va + vb
        elif code == SUB:
            value = va - vb
        elif vb == 0:
            return apply(self, other)  # Python raises where NumPy gives inf (and warns)
        else:
            value = va / vb
        out = LeanScalar()
        out._value = value
        out._lmark = None
        if needs and (grad_mode.on_everywhere or _state.enabled):
            out._lean = (code, self, other, va, vb, needs, versions._epoch)
            out._seq = next(_creation)
        else:
            out._lean = None
        return out

    def reflected_operator(self, other):  # other <op> self, other not a Tensor
        vb = self._value
        if vb is None:
            data = self._data
            if self._ctx is not None:
                return apply(other, self)
            if self._lean is not data:
                if data.shape or data.dtype is not f64:
                    return apply(other, self)
                self._lean = data
            needs = 2 if self._requires_grad else 0
            vb = data.item()
        else:
            needs = 0 if self._lean is None else 2
        if type(other) is float or (type(other) is int and
                                    -_EXACT_INT <= other <= _EXACT_INT):
            va = other
        elif type(other) is _NP_FLOAT64:
            va = float(other)
        else:
            return apply(other, self)
        if code == MUL:
            value = va * vb
        elif code == ADD:
            value = va + vb
        elif code == SUB:
            value = va - vb
        elif vb == 0:
            return apply(other, self)
        else:
            value = va / vb
        out = LeanScalar()
        out._value = value
        out._lmark = None
        if needs and (grad_mode.on_everywhere or _state.enabled):
            out._lean = (code, other, self, va, vb, needs, versions._epoch)
            out._seq = next(_creation)
        else:
            out._lean = None
        return out

    chosen = reflected_operator if reflected else operator
    chosen.__name__ = chosen.__qualname__ = (
        f"__{'r' if reflected else ''}{function.__name__.lower()}__")
    chosen.__doc__ = f"``{function.__name__}`` (lean on float64 scalars: scalar_graph)."
    return chosen


def _unary_method(code, function, name, apply=None):
    """Tensor's ``-a``, ``a.relu()``, ``a.exp()``, ``a.log()``, ``a.tanh()`` or
    ``a.sigmoid()``: a lean node when ``a`` qualifies."""
    apply = apply or function.apply

    def method(self):
        va = self._value
        if va is None:
            data = self._data
            if data.shape or data.dtype is not _F64 or self._ctx is not None:
                return apply(self)
            needs = self._requires_grad
            va = data.item()
        else:
            needs = self._lean is not None
        if code == RELU:
            value = 0.0 if va <= 0 else va  # NaN passes through, as the array kernel does
        elif code == TANH:
            value = float(_np_tanh(va))
        elif code == EXP:
            value = float(_np_exp(va))
        elif code == SIGMOID:  # ops.elementwise.stable_sigmoid on one number
            e = float(_np_exp(-abs(va)))
            value = (1.0 if va >= 0 else e) / (1 + e)
        elif code == NEG:
            value = -va
        elif va == 0:
            return apply(self)  # log 0: its derivative 1/0 raises in Python
        else:
            value = float(_np_log(va))
        return _lean_output(value, (code, self, None, va, None, 1, versions._epoch)
                            if needs else None)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{function.__name__}`` (lean on float64 scalars: scalar_graph)."
    return method


def _power_operator(general=None):
    """Tensor's ``a ** c`` for a Python number ``c``: lean when ``a`` qualifies and
    ``a**(c-1)`` cannot divide by zero or leave the reals (a > 0, or c whole, a != 0)."""
    general = general or ew.pow_

    def __pow__(self, other):
        va = self._value
        if va is None:
            data = self._data
            if data.shape or data.dtype is not _F64 or self._ctx is not None:
                return general(self, other)
            needs = self._requires_grad
            va = data.item()
        else:
            needs = self._lean is not None
        if not (type(other) is float or (type(other) is int and
                                         -_EXACT_INT <= other <= _EXACT_INT)) or \
                va == 0 or (va < 0 and other != int(other)) or va != va:
            return general(self, other)
        return _lean_output(float(_np_power(va, other)),
                            (POW, self, other, va, other, 1, versions._epoch) if needs else None)

    __pow__.__doc__ = "``Pow`` (lean on float64 scalars: scalar_graph)."
    return __pow__


_UNARY_NAMES = {NEG: "__neg__", RELU: "relu", EXP: "exp", LOG: "log", TANH: "tanh",
                SIGMOID: "sigmoid"}


def _operator_names(code) -> tuple:
    name = FUNCTIONS[code].__name__.lower().replace("div", "truediv")
    return f"__{name}__", f"__r{name}__"


def operators(lean: bool = True) -> dict:
    """Tensor's arithmetic operators and ``relu``: trying the lean path first, or (with
    ``lean=False``) applying the op directly."""
    ops = {}
    for code in (ADD, SUB, MUL, DIV):
        apply = FUNCTIONS[code].apply
        name, reflected_name = _operator_names(code)
        if lean:
            ops[name] = _binary_operator(code, FUNCTIONS[code], False)
            ops[reflected_name] = _binary_operator(code, FUNCTIONS[code], True)
        else:
            ops[name] = lambda self, other, apply=apply: apply(self, other)
            ops[reflected_name] = lambda self, other, apply=apply: apply(other, self)
    for code, name in _UNARY_NAMES.items():
        apply = FUNCTIONS[code].apply
        ops[name] = _unary_method(code, FUNCTIONS[code], name) if lean else (
            lambda self, apply=apply: apply(self))
    ops["__pow__"] = _power_operator() if lean else (
        lambda self, other: ew.pow_(self, other))
    return ops


def _decline(*inputs):
    return None


def _functional_forms() -> dict:
    """``Function -> lean(*inputs) or None``: what ``Function.apply`` tries first on
    scalars (``function._apply_scalar``), so ``torch.relu(t)``, ``F.tanh(t)``,
    ``t.mul(u)`` or ``Mul.apply(2.0, t)`` are lean too."""
    forms = {}
    for code in (ADD, SUB, MUL, DIV):
        forward = _binary_operator(code, FUNCTIONS[code], False, _decline)
        reflected = _binary_operator(code, FUNCTIONS[code], True, _decline)

        def lean(a, b, forward=forward, reflected=reflected):
            if isinstance(a, Tensor):
                return forward(a, b)
            return reflected(b, a) if isinstance(b, Tensor) else None

        forms[FUNCTIONS[code]] = lean
    for code, name in _UNARY_NAMES.items():
        forms[FUNCTIONS[code]] = _unary_method(code, FUNCTIONS[code], name, _decline)
    power = _power_operator(_decline)
    forms[ew.Pow] = lambda a, b: power(a, b) if isinstance(a, Tensor) else None
    return forms


def install():
    """Tensor's operators and the functional forms' hook (tensor.py calls this once)."""
    for name, method in operators().items():
        setattr(Tensor, name, method)
    for function, lean in _functional_forms().items():
        function.lean_apply = staticmethod(lean)


@contextlib.contextmanager
def switched_off():
    """Inside the block Tensor's operators apply the ops directly (the general path), so
    tests can compute the same expression both ways. Not for use across threads."""
    plain = operators(lean=False)
    kept = {name: Tensor.__dict__[name] for name in plain}
    hooks = {function: function.__dict__.get("lean_apply") for function in FUNCTIONS}
    for name, method in plain.items():
        setattr(Tensor, name, method)
    for function in FUNCTIONS:
        function.lean_apply = None
    try:
        yield
    finally:
        for name, method in kept.items():
            setattr(Tensor, name, method)
        for function, hook in hooks.items():
            function.lean_apply = hook


# ----------------------------------------------------------------------------- backward
def backward(root, retain_graph) -> bool:
    """See :func:`_backward`; one pass at a time (the pass keeps its sums on the tensors,
    and threads may share leaves)."""
    with _one_pass:
        return _backward(root, retain_graph)


_one_pass = threading.Lock()


def _backward(root, retain_graph) -> bool:
    """``root.backward()`` on a lean graph; False (having changed nothing a user can
    see) where the general engine must run instead (the module docstring lists when).

    d root / d root = 1. Nodes run in reverse creation order, so a node's gradient ``g``
    is complete when it runs (each of its consumers was made later, and has run). Its
    inputs are found as the pass goes: an input seen for the first time takes ``g``
    times the local derivative as its sum and waits, keyed by its creation number, in
    ``pending``; a later contribution is added to that sum. The leaves' sums go into
    ``.grad`` at the end, so a pass that has to give up has changed nothing.
    """
    if root._lean is None or _freed(root._lmark):
        return False
    epoch = versions._epoch
    token = _Pass()
    root._lmark = token
    root._lgrad = 1.0
    pending = {root._seq: root}
    take = pending.pop
    leaves = []
    # An input made just before its node (``w * a`` added into a running sum) runs next,
    # and every node that uses it has run: it skips ``pending`` (measured: a dict insert
    # and pop were a fifth of the loop's time per node).
    following = None
    while pending:
        misses = 0
        for number in range(max(pending), -1, -1):
            if following is not None:
                t = following
                following = None
            else:
                t = take(number, None)
                if t is None:  # a node made meanwhile that this graph does not use
                    misses += 1
                    if misses > 64 or not pending:
                        break  # a long gap (an old input): go on from the next waiting
                    continue
            g = t._lgrad
            code, a, b, va, vb, needs, node_epoch = t._lean
            if node_epoch != epoch:
                return False  # something changed in place since: the engine checks what
            # the local derivatives, exactly as the ops' backward rules compute them
            if code == MUL:
                ga = g * vb
                gb = g * va
            elif code == ADD:
                ga = gb = g
            elif code == SUB:
                ga = g
                gb = -g
            elif code == RELU:
                ga = g if t._value > 0 else 0.0
            elif code == TANH:
                ga = g * (1 - t._value * t._value)
            elif code == EXP:
                ga = g * t._value
            elif code == SIGMOID:
                ga = g * t._value * (1 - t._value)
            elif code == POW:  # a ** c for a number c (Pow.backward's three cases)
                ga = 0.0 if vb == 0 else g * 2 * va if vb == 2 else \
                    g * (vb * float(_np_power(va, vb - 1)))
            elif code == NEG:
                ga = -g
            elif code == LOG:
                ga = g / va
            else:  # DIV
                ga = g / vb
                gb = -g * t._value / vb
            # Add into each input that needs grad (written out twice: this loop is the pass)
            if needs & 1:
                try:
                    mark = a._lmark
                except AttributeError:
                    mark = None  # a leaf no lean backward has seen yet
                if mark is token:
                    a._lgrad += ga
                # _first_visit's common case, inline (a LeanScalar that needs grad is
                # a node: only materialising drops its node, and it changes the class)
                elif type(a) is LeanScalar and (mark is None or not mark.freed):
                    if a._seq == number - 1:
                        following = a
                    else:
                        pending[a._seq] = a
                    a._lmark = token
                    a._lgrad = ga
                elif _first_visit(a, mark, pending, leaves):
                    a._lmark = token
                    a._lgrad = ga
                else:
                    return False
            if needs & 2:
                try:
                    mark = b._lmark
                except AttributeError:
                    mark = None
                if mark is token:
                    b._lgrad += gb
                elif type(b) is LeanScalar and (mark is None or not mark.freed):
                    if b._seq == number - 1:  # (as for a)
                        following = b
                    else:
                        pending[b._seq] = b
                    b._lmark = token
                    b._lgrad = gb
                elif _first_visit(b, mark, pending, leaves):
                    b._lmark = token
                    b._lgrad = gb
                else:
                    return False
    if not retain_graph:
        token.freed = True  # every node this pass ran carries the token
    for leaf in leaves:
        _accumulate(leaf, leaf._lgrad)
        leaf._lgrad = None
    return True


def _first_visit(x, mark, pending, leaves) -> bool:
    """File an input met for the first time in a pass: a lean node waits in ``pending``
    (by creation number), a leaf joins ``leaves``; False for what the pass cannot run."""
    if x._value is not None:  # a lean node (hooks and retain_grad() make it an ordinary
        # tensor: they read its grad_fn)
        if x._lean is None or _freed(mark):
            return False
        pending[x._seq] = x
        return True
    if x._ctx is None and not x._hooks and not x._post_accumulate_hooks:
        leaves.append(x)  # a leaf that requires grad (nothing else is given needs)
        return True
    return False  # a node of the array graph, or a leaf with hooks


def _accumulate(leaf, grad):
    """Add a float gradient into ``leaf.grad`` as the engine does for a 0-d leaf."""
    current = leaf._grad
    if current is None:
        leaf._grad = Tensor._make(np.array(grad))
    elif current._data.flags.writeable and current._data.shape == () and \
            current._ctx is None and current._data.dtype is _F64:
        current._data += grad
    else:
        leaf._grad = Tensor._make(current._data + grad)


def node_name(t):
    """The name ``t.grad_fn.name()`` will have (``MulBackward0``), or None: for printing
    a lean tensor without making its node."""
    return None if t._lean is None else FUNCTIONS[t._lean[0]].__name__ + "Backward0"


# --------------------------------------------------------------------- materialisation
#: The fields a lean tensor leaves unset until read, and their values then.
LAZY_FIELDS = {"_data": None, "_ctx": None, "_requires_grad": None, "_grad": None,
               "name": None, "_retains_grad": False, "_version": 0, "_accumulator": None,
               "_hooks": None, "_post_accumulate_hooks": None, "_lgrad": None,
               "_lmark": None}


def fill_field(t, name):
    """The value of a field a lean tensor has not set yet (its LeanScalar property)."""
    if name == "_data":
        data = t._data = np.array(t._value)
        return data
    if name == "_ctx":
        materialise(t)
        return t._ctx
    if name == "_requires_grad":
        value = t._lean is not None
    else:
        value = LAZY_FIELDS[name]
    setattr(t, name, value)
    return value


# The lean loops' own fields stay slots (set before they are read); the rest are lazy.
for _name in LAZY_FIELDS:
    if _name not in ("_lgrad", "_lmark"):
        setattr(LeanScalar, _name, _lazy_field(_name))
del _name


def ordinary(t):
    """``t`` as an ordinary tensor (materialised if lean): for code that is about to
    replace ``t._data`` directly, which a lean tensor's value would not follow."""
    if isinstance(t, Tensor) and t._value is not None:
        materialise(t)
    return t


def materialise(t):
    """Make ``t`` and its lean ancestors ordinary tensors with ``Context`` nodes.

    Parents first (an iterative depth-first order, so a long chain is no recursion), each
    node built as ``Function.apply`` builds it on the scalar fast path: the op's own
    ``forward`` on the saved values fills what it saves. A node whose lean backward ran
    without ``retain_graph`` comes out freed.
    """
    order = []
    stack = [t]
    expanded = set()
    done = object()
    while stack:
        x = stack.pop()
        if x is done:
            order.append(stack.pop())
            continue
        if id(x) in expanded:
            continue
        expanded.add(id(x))
        stack.append(x)
        stack.append(done)
        node = x._lean
        if node is not None:
            for i, operand in ((0, node[1]), (1, node[2])):
                if node[5] >> i & 1 and operand._value is not None:
                    stack.append(operand)
    for x in order:
        _make_ordinary(x)


def _make_ordinary(x):
    node = x._lean
    ctx = None
    if node is not None:
        code, a, b, va, vb, needs, epoch = node
        operands = (a,) if code in _UNARY else (a, b)
        values = (va,) if code in _UNARY else (va, vb)
        arrays, slots = [], []
        for i, (operand, value) in enumerate(zip(operands, values)):
            if isinstance(operand, Tensor):
                arrays.append(np.float64(value))
                if needs >> i & 1:
                    slot = operand._ctx
                    slots.append(slot if slot is not None else accumulator(operand))
                else:
                    slots.append(operand)
            else:
                arrays.append(value)
                slots.append(operand)
        fn = FUNCTIONS[code]
        ctx = Context(fn, tuple(slots), {}, tuple(bool(needs >> i & 1)
                                                  for i in range(len(operands))))
        ctx.epoch = epoch
        result = fn.forward(ctx, *arrays)
        if ctx._saved:
            ctx._saved_from = _sources(ctx._saved, arrays, result)
        ctx._output = weakref.ref(x)
        ctx._out_shape, ctx._out_dtype = (), _F64
        if _freed(x._lmark):
            ctx.free()
    for name in LAZY_FIELDS:  # every field still unset gets what fill_field gives it
        if name != "_ctx":
            try:
                getattr(Tensor, name).__get__(x)
            except AttributeError:
                fill_field(x, name)
    x._ctx = ctx
    x._value = None
    x._lean = None
    x.__class__ = Tensor
