"""``sweep(..., backend="ray")``: the same trials run through Ray Tune.

Grid and random search hand Tune the very configurations the local backend would run
(a ``grid_search`` over them), so both backends try the same points for the same
seed. Bayesian search uses Tune's ``OptunaSearch`` (the TPE sampler, seeded) with
Tune's median stopping rule fed by ``trial.report``. A Tune callback records each
trial as it ends, so ``on_trial_end`` sees them one by one and Ctrl-C (which Tune turns
into a graceful stop) keeps the finished ones.
"""

import os
import shutil
import tempfile
import time
import warnings

__all__ = ["run"]

_STATUS = "_sweep_status"


def _import_ray():
    # Tune's newer console output prints tables even with verbose=0; the classic
    # reporter honours it (our own log line per trial says what happened).
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    try:
        import ray
        from ray import tune
    except ImportError:
        raise ImportError("backend='ray' needs Ray Tune: pip install 'ray[tune]' (or "
                          "autograd-core[sweep])") from None
    return ray, tune


def _trainable(tune_config, objective=None, metric=None, constants=None, names=None,
               numbered=True):
    """Runs inside a Tune trial: unpack the configuration, run, report."""
    from ray import tune

    from nn.training.sweep import _run_trial

    if numbered:
        number, config = tune_config["__trial"]["number"], tune_config["__trial"]["config"]
    else:
        merged = {**constants, **tune_config}
        number, config = -1, {name: merged[name] for name in names}

    def ray_report(entry):
        tune.report({**entry, _STATUS: "running"})

    trial = _run_trial(objective, number, config, metric, ray_report=ray_report)
    if trial.status == "error":
        if numbered:  # grid/random: a result saying so (no traceback in Tune's log)
            tune.report({_STATUS: "error", "_sweep_error": trial.error})
            return
        raise _TrialError(trial.error)  # bayes: OptunaSearch must see a failed trial
    if trial.status == "pruned":
        return
    tune.report({**trial.metrics, _STATUS: "completed", "_sweep_seconds": trial.seconds,
                 "_sweep_config": config})


class _TrialError(RuntimeError):
    """The objective raised; the message is 'Type: message' of the original error."""


def _error_text(ray_trial):
    try:
        error = ray_trial.get_pickled_error()
    except Exception:
        error = None
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, _TrialError):
        return str(cause)
    lines = []
    try:  # error.txt ends with the exception's last line
        with open(ray_trial.error_file, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except (OSError, TypeError):
        pass
    for line in reversed(lines):
        if "_TrialError: " in line:
            return line.split("_TrialError: ", 1)[1]
    if cause is not None:
        text = str(cause).strip().splitlines()
        return f"{type(cause).__name__}: {text[-1] if text else ''}"
    if lines:
        return lines[-1]
    return "the trial failed (see Ray's logs)"


def _callback_class(tune):
    class Recorder(tune.Callback):
        def __init__(self, convert):
            self.convert = convert

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.convert(trial, error=False)

        def on_trial_error(self, iteration, trials, trial, **info):
            self.convert(trial, error=True)

    return Recorder


def run(objective, space, search, trials, address, metric, mode, seed, max_concurrent,
        on_trial_end, log):
    from nn.training.sweep import (
        SweepInterrupted,
        SweepResult,
        Trial,
        _configs,
        _constants,
        _optuna_distributions,
        _trial_line,
    )

    ray, tune = _import_ray()
    started_here = False
    if not ray.is_initialized():
        options = {"include_dashboard": False, "log_to_driver": False,
                   "configure_logging": False}
        if address is None:
            options["num_cpus"] = os.cpu_count() or 1
        # Workers import the objective's module and this package from the driver's path.
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        options["runtime_env"] = {"env_vars": {
            "PYTHONPATH": os.pathsep.join(dict.fromkeys([here, os.getcwd(), *paths]))}}
        ray.init(address=address, **options)
        started_here = True
    names = list(space)
    constants = _constants(space)
    records = []
    order = {}

    def convert(ray_trial, error):
        result = ray_trial.last_result or {}
        if search == "bayes":
            merged = {**constants, **(ray_trial.config or {})}
            config = {name: merged.get(name) for name in names}
            number = order.setdefault(ray_trial.trial_id, len(order))
        else:
            number = ray_trial.config["__trial"]["number"]
            config = ray_trial.config["__trial"]["config"]
        skip = {_STATUS, "_sweep_seconds", "_sweep_config", "_sweep_error", "epoch"}
        metrics = {k: v for k, v in result.items() if not k.startswith("_")
                   and k not in skip and k in reported_keys(result)}
        if error:
            status, text = "error", _error_text(ray_trial)
        elif result.get(_STATUS) == "error":
            status, text = "error", result.get("_sweep_error")
        elif result.get(_STATUS) == "completed":
            status, text = "completed", None
        else:
            status, text = "pruned", None
        trial = Trial(number, config, metrics, status, text,
                      seconds=float(result.get("_sweep_seconds",
                                               result.get("time_total_s", 0.0)) or 0.0))
        records.append(trial)
        if log is not None:
            log(_trial_line(trial, metric, expected))
        if on_trial_end is not None:
            on_trial_end(trial, SweepResult(records, metric, mode, space, search, "ray"))

    tune_internal = {"training_iteration", "time_total_s", "time_this_iter_s", "timestamp",
                     "done", "trial_id", "date", "time_since_restore", "pid", "hostname",
                     "node_ip", "config", "iterations_since_restore", "checkpoint_dir_name",
                     "experiment_tag", "should_checkpoint"}

    def reported_keys(result):
        return {k for k in result if k not in tune_internal}

    storage = tempfile.mkdtemp(prefix="autograd-sweep-ray-")
    try:
        if search == "bayes":
            import optuna
            from ray.tune.schedulers import MedianStoppingRule
            from ray.tune.search.optuna import OptunaSearch

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            expected = trials
            searcher = OptunaSearch(space=_optuna_distributions(space), metric=metric,
                                    mode=mode, sampler=optuna.samplers.TPESampler(
                                        seed=seed, n_startup_trials=min(
                                            10, max(2, len(space) + 1))))
            tune_config = tune.TuneConfig(
                search_alg=searcher, num_samples=trials, metric=metric, mode=mode,
                scheduler=MedianStoppingRule(time_attr="training_iteration",
                                             grace_period=1, min_samples_required=2),
                max_concurrent_trials=max_concurrent, reuse_actors=True)
            param_space = {}
            trainable = tune.with_parameters(_trainable, objective=objective, metric=metric,
                                             constants=constants, names=names,
                                             numbered=False)
        else:
            configs = _configs(space, search, trials, seed)
            expected = len(configs)
            tune_config = tune.TuneConfig(num_samples=1, max_concurrent_trials=max_concurrent,
                                          reuse_actors=True)
            param_space = {"__trial": tune.grid_search(
                [{"number": i, "config": c} for i, c in enumerate(configs)])}
            trainable = tune.with_parameters(_trainable, objective=objective, metric=metric)
        run_config = tune.RunConfig(
            name=f"sweep-{int(time.time())}", storage_path=storage, verbose=0,
            callbacks=[_callback_class(tune)(convert)],
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False))
        tuner = tune.Tuner(trainable, param_space=param_space, tune_config=tune_config,
                           run_config=run_config)
        try:
            with warnings.catch_warnings():
                # OptunaSearch reports the final result once more at the same step.
                warnings.filterwarnings("ignore", message="The reported value is ignored")
                tuner.fit()
        except KeyboardInterrupt:
            raise SweepInterrupted(SweepResult(records, metric, mode, space, search, "ray",
                                               interrupted=True)) from None
        result = SweepResult(records, metric, mode, space, search, "ray")
        if len(records) < expected:  # Tune stopped gracefully on Ctrl-C
            result.interrupted = True
            raise SweepInterrupted(result)
        return result
    finally:
        shutil.rmtree(storage, ignore_errors=True)  # Tune's copies; the result is ours
        if started_here:
            ray.shutdown()
