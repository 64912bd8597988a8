"""Hyperparameter sweeps: grid, random and Bayesian search, here or on a Ray cluster.

``objective(config)`` trains with one configuration and returns its metrics; ``sweep``
runs it for every configuration the search proposes and returns a
:class:`SweepResult`::

    from nn.training.sweep import sweep, grid, loguniform

    def objective(config):
        ...train with config["lr"] and config["weight_decay"]...
        return {"val_accuracy": acc, "val_loss": loss}

    result = sweep(objective, {"lr": loguniform(1e-4, 1e-1), "weight_decay": grid([0, 1e-5])},
                   search="bayes", trials=20)
    result.best, result.best_result["val_accuracy"]
    print(result.to_markdown())

An objective that takes a second argument gets a :class:`TrialContext`; calling
``trial.report(epoch, **metrics)`` after each epoch lets ``search="bayes"`` prune bad
trials early (Optuna's TPE sampler with a median pruner; on Ray, Tune's median stopping
rule): ``report`` then raises :class:`TrialPruned`, which ends the trial.

* ``search="grid"``: every combination of the ``grid`` dimensions (the other
  dimensions drawn at random for each); ``"random"``: ``trials`` random draws;
  ``"bayes"``: Optuna's TPE sampler (``pip install optuna``).
* ``backend="local"`` runs the trials in this process, or in ``max_concurrent``
  worker processes (the objective must then be picklable: a module-level function);
  ``backend="ray"`` runs them through Ray Tune on the cluster at ``address``
  (``"auto"``, ``"ray://host:10001"``), or on a local Ray instance it starts when
  ``address`` is None. The objective and the space are the same for both.
* A trial that raises is recorded with its error (status ``"error"``) and the sweep goes
  on. Ctrl-C stops the sweep and raises :class:`SweepInterrupted`, a
  ``KeyboardInterrupt`` whose ``.result`` holds the finished trials. Bad spaces and
  options raise ``ValueError`` before any trial runs.
"""

import inspect
import itertools
import math
import numbers
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

__all__ = ["sweep", "grid", "choice", "uniform", "loguniform", "randint", "SweepResult",
           "Trial", "TrialContext", "TrialPruned", "SweepInterrupted", "plot_sweep",
           "parse_dimension"]

SEARCHES = ("grid", "random", "bayes")
BACKENDS = ("local", "ray")


# ----------------------------------------------------------------------------- the space
class _Dimension:
    log = False

    def sample(self, rng):
        raise NotImplementedError


class grid(_Dimension):
    """Every one of ``values`` (search="grid" takes all combinations of the grids)."""

    def __init__(self, values):
        self.values = list(values)
        if not self.values:
            raise ValueError("grid([...]) needs at least one value, got an empty list")

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def __repr__(self):
        return f"grid({self.values!r})"


class choice(_Dimension):
    """One of ``values``, drawn uniformly (a categorical for Bayesian search)."""

    def __init__(self, values):
        self.values = list(values)
        if not self.values:
            raise ValueError("choice([...]) needs at least one value, got an empty list")

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def __repr__(self):
        return f"choice({self.values!r})"


def _check_bounds(name, low, high):
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not math.isfinite(value):
            raise ValueError(f"{name}({low!r}, {high!r}): bounds must be finite numbers")
    if not low < high:
        raise ValueError(f"{name}({low!r}, {high!r}): needs low < high")


class uniform(_Dimension):
    """A float drawn uniformly from [low, high)."""

    def __init__(self, low, high):
        _check_bounds("uniform", low, high)
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def __repr__(self):
        return f"uniform({self.low:g}, {self.high:g})"


class loguniform(_Dimension):
    """A float whose logarithm is uniform in [log low, log high): learning rates."""

    log = True

    def __init__(self, low, high):
        _check_bounds("loguniform", low, high)
        if low <= 0:
            raise ValueError(f"loguniform({low!r}, {high!r}): both bounds must be > 0")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))

    def __repr__(self):
        return f"loguniform({self.low:g}, {self.high:g})"


class randint(_Dimension):
    """An int drawn uniformly from low, ..., high - 1 (high excluded, as NumPy and Ray)."""

    def __init__(self, low, high):
        for value in (low, high):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"randint({low!r}, {high!r}): bounds must be integers")
        if not low < high:
            raise ValueError(f"randint({low!r}, {high!r}): needs low < high")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        return int(rng.integers(self.low, self.high))

    def __repr__(self):
        return f"randint({self.low}, {self.high})"


def _number(text):
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return text
    return value


def parse_dimension(text):
    """``"lr=loguniform:1e-4:1e-1"`` -> ``("lr", loguniform(1e-4, 1e-1))``; also
    ``grid:0,1e-5``, ``choice:adam,sgd``, ``uniform:a:b``, ``randint:a:b`` and a plain
    value (a constant)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"--space {text!r}: expected NAME=KIND:ARGS, e.g. "
                         "lr=loguniform:1e-4:1e-1 or wd=grid:0,1e-5,1e-4")
    kind, _, args = spec.partition(":")
    kind = kind.strip().lower()
    try:
        if kind in ("grid", "choice"):
            values = [_number(v.strip()) for v in args.split(",") if v.strip()]
            return name, (grid if kind == "grid" else choice)(values)
        if kind in ("uniform", "loguniform", "randint"):
            parts = args.split(":")
            if len(parts) != 2:
                raise ValueError(f"{kind} takes two bounds, {kind}:LOW:HIGH")
            low, high = (_number(p.strip()) for p in parts)
            if isinstance(low, str) or isinstance(high, str):
                raise ValueError(f"{kind} bounds must be numbers")
            return name, {"uniform": uniform, "loguniform": loguniform,
                          "randint": randint}[kind](low, high)
    except ValueError as error:
        raise ValueError(f"--space {text!r}: {error}") from None
    if ":" in spec:
        raise ValueError(f"--space {text!r}: unknown kind {kind!r}; use grid, choice, "
                         "uniform, loguniform or randint")
    return name, _number(spec.strip())


# ----------------------------------------------------------------------------- results
class TrialPruned(Exception):
    """Raised by ``TrialContext.report`` when the search stops a trial early."""


@dataclass
class Trial:
    """One configuration's run: ``config``, its final ``metrics``, ``status``
    (``"completed"``, ``"pruned"`` or ``"error"``), the ``error`` text, the per-epoch
    ``history`` of reports and the wall time in ``seconds``."""

    number: int
    config: dict
    metrics: dict = field(default_factory=dict)
    status: str = "completed"
    error: str = None
    history: list = field(default_factory=list)
    seconds: float = 0.0


class SweepResult:
    """What :func:`sweep` returns: every trial, and the best completed one."""

    def __init__(self, trials, metric, mode, space, search, backend, interrupted=False):
        self.trials = sorted(trials, key=lambda t: t.number)
        self.metric, self.mode, self.space = metric, mode, space
        self.search, self.backend = search, backend
        self.interrupted = interrupted

    @property
    def best_trial(self):
        scored = [t for t in self.trials if t.status == "completed"
                  and _finite(t.metrics.get(self.metric))]
        if not scored:
            return None
        pick = max if self.mode == "max" else min
        return pick(scored, key=lambda t: t.metrics[self.metric])

    @property
    def best(self):
        """The best trial's configuration (None when no trial completed)."""
        trial = self.best_trial
        return None if trial is None else dict(trial.config)

    @property
    def best_result(self):
        """The best trial's metrics."""
        trial = self.best_trial
        return None if trial is None else dict(trial.metrics)

    def to_markdown(self) -> str:
        """A Markdown table: one row per trial, the best in bold."""
        names = list(self.space)
        metrics = [self.metric] + sorted({k for t in self.trials for k in t.metrics
                                          if k != self.metric})
        header = ["trial"] + names + metrics + ["status", "seconds"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        best = self.best_trial
        for t in self.trials:
            cells = [str(t.number)] + [_fmt(t.config.get(n)) for n in names] \
                + [_fmt(t.metrics.get(m)) for m in metrics] \
                + [t.status + (f": {_one_line(t.error)}" if t.error else ""),
                   f"{t.seconds:.1f}"]
            if t is best:
                cells = [f"**{c}**" for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
        summary = (f"best {self.metric} ({self.mode}): "
                   + (f"{_fmt(best.metrics[self.metric])} with "
                      + ", ".join(f"{k}={_fmt(v)}" for k, v in best.config.items())
                      if best else "none (no trial completed)"))
        counts = {s: sum(t.status == s for t in self.trials)
                  for s in ("completed", "pruned", "error")}
        done = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        note = "; interrupted" if self.interrupted else ""
        return (f"{self.search} search on {self.backend}: {len(self.trials)} trials "
                f"({done or 'none'}){note}\n\n" + "\n".join(lines) + f"\n\n{summary}\n")

    def __repr__(self):
        return (f"SweepResult({len(self.trials)} trials, best {self.metric}="
                f"{None if self.best_trial is None else self.best_result[self.metric]!r})")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`sweep`; ``.result`` is a :class:`SweepResult` of the trials
    that had finished."""

    def __init__(self, result):
        super().__init__("sweep interrupted")
        self.result = result


def _finite(value):
    return isinstance(value, numbers.Real) and math.isfinite(value)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _one_line(text):
    return " ".join(str(text).split())[:200].replace("|", "/")


# ----------------------------------------------------------------------------- a trial
class TrialContext:
    """Handed to an objective ``objective(config, trial)``: ``trial.report(epoch,
    **metrics)`` after each epoch (may raise :class:`TrialPruned`), ``trial.config``,
    ``trial.number``."""

    def __init__(self, number, config, metric, optuna_trial=None, ray_report=None):
        self.number = number
        self.config = config
        self.metric = metric
        self.history = []
        self._optuna_trial = optuna_trial
        self._ray_report = ray_report

    def report(self, epoch, **metrics):
        entry = {"epoch": int(epoch), **{k: _plain(v) for k, v in metrics.items()}}
        self.history.append(entry)
        value = entry.get(self.metric)
        if self._ray_report is not None and _finite(value):
            self._ray_report(entry)
        if self._optuna_trial is not None and _finite(value):
            self._optuna_trial.report(float(value), int(epoch))
            if self._optuna_trial.should_prune():
                raise TrialPruned(f"trial {self.number} pruned after epoch {epoch} "
                                  f"({self.metric}={value:.4g})")

    __call__ = report


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value


def _wants_trial(objective) -> bool:
    try:
        parameters = list(inspect.signature(objective).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def _run_trial(objective, number, config, metric, optuna_trial=None, ray_report=None):
    """Run one trial; never raises except KeyboardInterrupt. Returns a Trial."""
    context = TrialContext(number, dict(config), metric, optuna_trial, ray_report)
    started = time.perf_counter()
    trial = Trial(number, dict(config))
    try:
        out = objective(dict(config), context) if _wants_trial(objective) \
            else objective(dict(config))
        if out is None and context.history:
            out = {k: v for k, v in context.history[-1].items() if k != "epoch"}
        if isinstance(out, numbers.Real) and not isinstance(out, bool):
            out = {metric: out}
        if not isinstance(out, dict):
            raise TypeError(f"the objective must return a dict of metrics, got "
                            f"{type(out).__name__}")
        trial.metrics = {k: _plain(v) for k, v in out.items()}
        if metric not in trial.metrics:
            raise KeyError(f"the objective returned no {metric!r} (it returned "
                           f"{sorted(trial.metrics)})")
        if not _finite(trial.metrics[metric]):
            raise ValueError(f"{metric} is {trial.metrics[metric]!r}")
    except TrialPruned:
        trial.status = "pruned"
        if context.history:
            trial.metrics = {k: v for k, v in context.history[-1].items() if k != "epoch"}
    except Exception as error:
        trial.status = "error"
        trial.error = f"{type(error).__name__}: {error}"
        trial.traceback = traceback.format_exc()
    trial.history = context.history
    trial.seconds = time.perf_counter() - started
    return trial


# ----------------------------------------------------------------------------- configs
def _validate(objective, space, search, trials, backend, metric, mode, max_concurrent):
    if not callable(objective):
        raise ValueError(f"sweep: objective must be callable, got {type(objective).__name__}")
    if not isinstance(space, dict) or not space:
        raise ValueError("sweep: space must be a non-empty dict of name -> dimension")
    if search not in SEARCHES:
        raise ValueError(f"sweep: unknown search {search!r}; use one of {SEARCHES}")
    if backend not in BACKENDS:
        raise ValueError(f"sweep: unknown backend {backend!r}; use one of {BACKENDS}")
    if mode not in ("max", "min"):
        raise ValueError(f"sweep: mode must be 'max' or 'min', got {mode!r}")
    if not isinstance(metric, str) or not metric:
        raise ValueError(f"sweep: metric must be a metric's name, got {metric!r}")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)
                               or trials < 1):
        raise ValueError(f"sweep: trials must be a positive int, got {trials!r}")
    if max_concurrent is not None and (isinstance(max_concurrent, bool)
                                       or not isinstance(max_concurrent, int)
                                       or max_concurrent < 1):
        raise ValueError(f"sweep: max_concurrent must be a positive int, got "
                         f"{max_concurrent!r}")
    for name, dim in space.items():
        if not isinstance(name, str):
            raise ValueError(f"sweep: hyperparameter names must be strings, got {name!r}")
        if isinstance(dim, (list, tuple)):
            raise ValueError(f"sweep: space[{name!r}] is a {type(dim).__name__}; wrap it "
                             "as grid([...]) or choice([...])")
    if search == "bayes":
        try:
            import optuna  # noqa: F401
        except ImportError:
            raise ImportError("search='bayes' needs Optuna: pip install optuna (or "
                              "autograd-core[sweep])") from None


def _configs(space, search, trials, seed):
    """The configurations for grid and random search, in order."""
    rng = np.random.default_rng(seed)
    if search == "grid":
        names = [n for n, d in space.items() if isinstance(d, grid)]
        combos = list(itertools.product(*(space[n].values for n in names)))
        count = len(combos) if trials is None else trials
        out = []
        for i in range(count):
            config = {}
            for name, dim in space.items():
                if isinstance(dim, grid):
                    config[name] = combos[i % len(combos)][names.index(name)]
                elif isinstance(dim, _Dimension):
                    config[name] = dim.sample(rng)
                else:
                    config[name] = dim
            out.append(config)
        return out
    count = 10 if trials is None else trials
    return [{name: dim.sample(rng) if isinstance(dim, _Dimension) else dim
             for name, dim in space.items()} for _ in range(count)]


def _optuna_distributions(space):
    import optuna

    dists = {}
    for name, dim in space.items():
        if isinstance(dim, (grid, choice)):
            dists[name] = optuna.distributions.CategoricalDistribution(dim.values)
        elif isinstance(dim, (uniform, loguniform)):
            dists[name] = optuna.distributions.FloatDistribution(dim.low, dim.high,
                                                                 log=dim.log)
        elif isinstance(dim, randint):
            dists[name] = optuna.distributions.IntDistribution(dim.low, dim.high - 1)
    return dists


def _constants(space):
    return {n: d for n, d in space.items() if not isinstance(d, _Dimension)}


def _make_study(space, mode, seed, pruner, storage=None):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(
        10, max(2, len(space) + 1)))
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    elif pruner is False:
        pruner = optuna.pruners.NopPruner()
    return optuna.create_study(direction="maximize" if mode == "max" else "minimize",
                               sampler=sampler, pruner=pruner, storage=storage)


def _tell(study, optuna_trial, trial, metric):
    import optuna

    if trial.status == "completed":
        study.tell(optuna_trial, float(trial.metrics[metric]))
    elif trial.status == "pruned":
        study.tell(optuna_trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)


# ----------------------------------------------------------------------------- sweep
def sweep(objective, space, search="grid", trials=None, backend="local", address=None,
          metric="val_accuracy", mode="max", seed=0, max_concurrent=None, pruner=None,
          on_trial_end=None, log=None):
    """Run ``objective`` over the configurations of ``space`` and return a
    :class:`SweepResult` (see the module docstring).

    ``trials``: how many trials (grid: default every combination once; random: 10;
    bayes: 20). ``pruner``: an Optuna pruner for ``bayes`` (default a median pruner;
    False: none). ``on_trial_end(trial, result_so_far)`` is called after each trial
    (e.g. to rewrite a table). ``log``: a print-like callable for one line per trial.
    """
    _validate(objective, space, search, trials, backend, metric, mode, max_concurrent)
    if search == "bayes" and trials is None:
        trials = 20
    if backend == "ray":
        from nn.training import _sweep_ray

        return _sweep_ray.run(objective, space, search, trials, address, metric, mode,
                              seed, max_concurrent, on_trial_end, log)
    done = []

    def finished(trial):
        done.append(trial)
        if log is not None:
            log(_trial_line(trial, metric, trials or len(done)))
        if on_trial_end is not None:
            on_trial_end(trial, SweepResult(done, metric, mode, space, search, backend))

    try:
        if max_concurrent is not None and max_concurrent > 1:
            _run_pool(objective, space, search, trials, metric, mode, seed, max_concurrent,
                      pruner, finished)
        elif search == "bayes":
            study = _make_study(space, mode, seed, pruner)
            dists, constants = _optuna_distributions(space), _constants(space)
            for number in range(trials):
                optuna_trial = study.ask(dists)
                config = {**constants, **optuna_trial.params}
                config = {name: config[name] for name in space}
                trial = _run_trial(objective, number, config, metric, optuna_trial)
                _tell(study, optuna_trial, trial, metric)
                finished(trial)
        else:
            for number, config in enumerate(_configs(space, search, trials, seed)):
                finished(_run_trial(objective, number, config, metric))
    except KeyboardInterrupt:
        raise SweepInterrupted(SweepResult(done, metric, mode, space, search, backend,
                                           interrupted=True)) from None
    return SweepResult(done, metric, mode, space, search, backend)


def _trial_line(trial, metric, total):
    value = trial.metrics.get(metric)
    text = f"trial {trial.number + 1}/{total} {trial.status}"
    if value is not None:
        text += f" {metric} {_fmt(value)}"
    text += "  " + ", ".join(f"{k}={_fmt(v)}" for k, v in trial.config.items())
    if trial.error:
        text += f"  ({_one_line(trial.error)})"
    return text + f"  [{trial.seconds:.1f}s]"


# ----------------------------------------------------------------------------- process pool
def _pool_trial(objective, number, config, metric, journal=None):
    """A trial in a worker process; with ``journal`` it reports to the Optuna study
    kept in that journal file, so the parent's pruner sees every trial's epochs."""
    optuna_trial = None
    if journal is not None:
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path, study_name, trial_id, pruner = journal
        study = optuna.load_study(study_name=study_name, pruner=pruner,
                                  storage=JournalStorage(JournalFileBackend(path)))
        optuna_trial = optuna.trial.Trial(study, trial_id)
    trial = _run_trial(objective, number, config, metric, optuna_trial)
    trial.__dict__.pop("traceback", None)
    return trial


def _run_pool(objective, space, search, trials, metric, mode, seed, workers, pruner,
              finished):
    import multiprocessing
    import os
    import pickle
    import tempfile
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    try:
        pickle.dumps(objective)
    except Exception as error:
        raise ValueError(f"sweep: max_concurrent > 1 runs trials in worker processes, so "
                         f"the objective must be picklable (a module-level function): "
                         f"{error}") from None
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp, \
            ProcessPoolExecutor(workers, mp_context=context) as pool:
        running = {}
        if search != "bayes":
            for number, config in enumerate(_configs(space, search, trials, seed)):
                running[pool.submit(_pool_trial, objective, number, config, metric)] = None
            try:
                for future in _as_completed(running):
                    finished(future.result())
            except KeyboardInterrupt:
                for future in running:
                    future.cancel()
                raise
            return
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = os.path.join(tmp, "study.log")
        storage = JournalStorage(JournalFileBackend(path))
        study = _make_study(space, mode, seed, pruner, storage=storage)
        dists, constants = _optuna_distributions(space), _constants(space)
        asked = 0
        try:
            while asked < trials or running:
                while asked < trials and len(running) < workers:
                    optuna_trial = study.ask(dists)
                    config = {**constants, **optuna_trial.params}
                    config = {name: config[name] for name in space}
                    journal = (path, study.study_name, optuna_trial._trial_id, study.pruner)
                    future = pool.submit(_pool_trial, objective, asked, config, metric,
                                         journal)
                    running[future] = optuna_trial
                    asked += 1
                complete, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in complete:
                    optuna_trial = running.pop(future)
                    trial = future.result()
                    _tell(study, optuna_trial, trial, metric)
                    finished(trial)
        except KeyboardInterrupt:
            for future in running:
                future.cancel()
            raise


def _as_completed(futures):
    from concurrent.futures import as_completed

    return as_completed(list(futures))


# ----------------------------------------------------------------------------- plot
def plot_sweep(result, path) -> str:
    """Draw ``result.metric`` against each hyperparameter (one panel each) to ``path``.

    Returns None, or a note when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no sweep plot"
    names = [n for n, d in result.space.items() if isinstance(d, _Dimension)] \
        or list(result.space)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    best = result.best_trial
    styles = {"completed": ("o", "C0"), "pruned": ("x", "C1")}
    for ax, name in zip(axes[0], names):
        dim = result.space[name]
        # Grids and choices are categories (evenly spaced, in their own order); ranges are
        # continuous axes, logarithmic for loguniform.
        categorical = not isinstance(dim, (uniform, loguniform, randint))
        labels = []
        if categorical:
            values = list(dim.values) if isinstance(dim, (grid, choice)) else \
                list(dict.fromkeys(t.config.get(name) for t in result.trials))
            labels = [_fmt(v) for v in values]

        def x_of(trial, categorical=categorical, name=name, labels=labels):
            value = trial.config.get(name)
            if not categorical:
                return value
            return labels.index(_fmt(value)) if _fmt(value) in labels else -1

        for status, (marker, color) in styles.items():
            chosen = [t for t in result.trials if t.status == status
                      and _finite(t.metrics.get(result.metric))]
            if chosen:
                ax.scatter([x_of(t) for t in chosen],
                           [t.metrics[result.metric] for t in chosen], marker=marker,
                           color=color, label=status)
        if best is not None:
            ax.scatter([x_of(best)], [best.metrics[result.metric]], s=160,
                       facecolors="none", edgecolors="C3", label="best")
        if categorical:
            ax.set_xticks(range(len(labels)), labels)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        elif dim.log:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel(result.metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{result.search} search: {result.metric} ({result.mode}) per trial")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
