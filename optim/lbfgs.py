"""L-BFGS (limited-memory BFGS, Nocedal), as ``torch.optim.LBFGS``.

One ``step(closure)`` runs up to ``max_iter`` quasi-Newton iterations on all parameters
seen as one flat vector x with gradient g (``closure`` re-evaluates the loss and fills
``.grad``). With the last ``history_size`` pairs s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i
(kept only when the curvature y_i . s_i > 1e-10), the direction d = -H g comes from the
two-loop recursion::

    q <- -g
    for i newest..oldest:  a_i = rho_i s_i . q;  q <- q - a_i y_i       (rho_i = 1 / y_i.s_i)
    r <- (s . y / y . y) q                                              (newest pair)
    for i oldest..newest:  b_i = rho_i y_i . r;  r <- r + (a_i - b_i) s_i
    d = r

and x <- x + t d, with t = lr (on the very first iteration min(1, 1 / |g|_1) * lr), or
with ``line_search_fn="strong_wolfe"`` a step satisfying the strong Wolfe conditions.
The loop stops early when max|g| <= tolerance_grad, when g . d > -tolerance_change,
when max|t d| or the change of the loss is below tolerance_change, or after
``max_eval`` closure calls. As PyTorch: a single param group only.

State (on the first parameter, PyTorch's keys): ``func_evals``, ``n_iter`` (ints),
``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``,
``prev_loss`` (flat arrays, lists of them, and floats).

>>> import numpy as np
>>> from autograd_core import Tensor
>>> w = Tensor(np.array([3.0, -1.0]), requires_grad=True)
>>> opt = LBFGS([w], lr=1.0)
>>> def closure():
...     opt.zero_grad()
...     loss = ((w - 1.0) ** 2).sum()
...     loss.backward()
...     return loss
>>> _ = opt.step(closure); [round(x, 6) for x in w.data.tolist()]
[1.0, 1.0]
"""

import numbers

import numpy as np

from autograd_core.grad_mode import enable_grad
from autograd_core.versions import mark_modified
from optim.optimizer import Optimizer, check_nonnegative

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), within bounds."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square**0.5
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search for a step t along d meeting the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns (loss, flat gradient) at x + t d. Bracketing, then
    zooming by cubic interpolation (Nocedal & Wright, algorithms 3.5 and 3.6).
    Returns (f_new, g_new, t, number of evaluations).
    """
    d_norm = float(np.max(np.abs(d)))
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)

    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point meets the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # keep away from the bracket's ends, where the interpolation has no information
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS, as ``torch.optim.LBFGS``; ``step`` needs a closure.

    Parameters
    ----------
    params : iterable of Tensors (one group)
    lr : float
        Step length (scales the quasi-Newton step).
    max_iter : int
        Iterations per ``step``.
    max_eval : int or None
        Closure calls per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad : float
        Stop when the largest gradient entry is at most this.
    tolerance_change : float
        Stop when the step or the loss changes by less than this.
    history_size : int
        Number of (s, y) pairs kept.
    line_search_fn : None or "strong_wolfe"
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4 if _is_positive_int(max_iter) else max_iter
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups); got "
                f"{len(self.param_groups)} groups"
            )
        self._params = self.param_groups[0]["params"]

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("LBFGS", "lr", group["lr"], where)
        for name in ("max_iter", "max_eval", "history_size"):
            if not _is_positive_int(group[name]):
                raise ValueError(
                    f"LBFGS: invalid {name}={group[name]!r}{where}; it must be a positive "
                    "integer"
                )
        check_nonnegative("LBFGS", "tolerance_grad", group["tolerance_grad"], where)
        check_nonnegative("LBFGS", "tolerance_change", group["tolerance_change"], where)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: invalid line_search_fn={group['line_search_fn']!r}{where}; only "
                "None and 'strong_wolfe' are supported"
            )

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups)"
            )
        super().add_param_group(param_group)

    # ----------------------------------------------------------------- flat views
    def _gather_flat_grad(self):
        parts = []
        for p in self._params:
            if p._grad is None:
                parts.append(np.zeros(p._data.size, dtype=p._data.dtype))
            else:
                parts.append(self._grad_array(p).reshape(-1))
        return np.concatenate(parts)

    def _add_grad(self, step_size, direction):
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (step_size * direction[offset:offset + n]).reshape(p._data.shape)
            mark_modified(p)
            offset += n

    def _clone_params(self):
        return [p._data.copy() for p in self._params]

    def _set_params(self, values):
        for p, value in zip(self._params, values):
            p._data[...] = value
            mark_modified(p)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # ----------------------------------------------------------------- the step
    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; returns the loss from the first closure call."""
        if closure is None:
            raise RuntimeError(
                "LBFGS.step needs a closure that re-evaluates the model and returns the "
                "loss: opt.step(closure)"
            )
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter = int(group["max_iter"])
        max_eval = int(group["max_eval"])
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        history_size = int(group["history_size"])
        line_search_fn = group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if np.max(np.abs(flat_grad)) <= tolerance_grad:
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep only pairs with positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                num_old = len(old_dirs)
                al = [0.0] * num_old
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = float(old_dirs[i] @ r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.sum(np.abs(flat_grad)))) * lr
            else:
                t = lr

            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn == "strong_wolfe":
                x_init = self._clone_params()

                def obj_func(x, step, direction):
                    return self._directional_evaluate(closure, x, step, direction)

                # the search may use what is left of this step's evaluation budget
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.max(np.abs(flat_grad)) <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    # the gradient at the new point, for the next iteration (not needed
                    # after the last one)
                    with enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.max(np.abs(flat_grad)) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.max(np.abs(d * t)) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    # ----------------------------------------------------------------- state dicts
    def state_dict(self):
        sd = super().state_dict()
        for entries in sd["state"].values():
            for name in ("old_dirs", "old_stps"):
                if name in entries:
                    entries[name] = [a.copy() for a in entries[name]]
            if "ro" in entries:
                entries["ro"] = list(entries["ro"])
        return sd

    def load_state_dict(self, state_dict):
        """As :meth:`Optimizer.load_state_dict`; the flat history vectors are restored as
        arrays of the parameters' dtype."""
        saved = {int(k): dict(v) for k, v in state_dict["state"].items()}
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        dtype = self._params[0].dtype
        size = sum(p._data.size for p in self._params)
        for key, entries in saved.items():
            if key != 0:
                raise ValueError(
                    f"LBFGS.load_state_dict: state for parameter {key}; LBFGS keeps its "
                    "state on parameter 0 only"
                )
            restored = {}
            for name, value in entries.items():
                if name in ("func_evals", "n_iter"):
                    restored[name] = int(np.asarray(value).item())
                elif name in ("d", "prev_flat_grad"):
                    restored[name] = _flat(name, value, dtype, size)
                elif name in ("old_dirs", "old_stps"):
                    restored[name] = [_flat(name, v, dtype, size) for v in value]
                elif name == "ro":
                    restored[name] = [float(np.asarray(v).item()) for v in value]
                elif value is None:
                    restored[name] = None
                else:
                    restored[name] = float(np.asarray(value).item())
            self.state[self._params[0]] = restored


def _flat(name, value, dtype, size):
    array = np.array(np.asarray(value), dtype=dtype, copy=True).reshape(-1)
    if array.size != size:
        raise ValueError(
            f"LBFGS.load_state_dict: state {name!r} has {array.size} entries, the "
            f"parameters {size}"
        )
    return array


def _is_positive_int(value):
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value > 0


