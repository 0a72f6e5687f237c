"""Sampling a trial: the sampler, and a config drawn from the space, counted and checked against
the budget before anything is built. Runs in the driver, where the study's sampler is."""

from __future__ import annotations

import optuna

from errors import ConfigError, UserError
from search.fidelity import Fidelity
from search.trial import BUDGET_CONSTRAINT, CONFIG, N_PARAMS, PRUNED_REASON
from spaces import Space, call_space
from trainers import TrainConfig, count_params

__all__ = ["make_sampler", "sample"]


def make_sampler(seed: int | None = None) -> optuna.samplers.BaseSampler:
    """Multivariate TPE; it learns the budget from the constraint each trial records, and with
    its constant liar (on by default) spreads the trials that run at once."""
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)


def sample(trial: optuna.Trial, space: Space, fidelity: Fidelity, budget: int) -> TrainConfig:
    """The trial's config at the study's fidelity, recorded with its parameter count.

    Raises TrialPruned, before anything is built or read, if the model is over `budget`.
    """
    config = fidelity.apply(_space_config(trial, space, budget))
    n_params = count_params(config.model)
    trial.set_user_attr(N_PARAMS, n_params)
    trial.set_user_attr(CONFIG, config.to_dict())
    if BUDGET_CONSTRAINT not in trial.constraints:  # a retry carries its original's
        trial.set_constraint(BUDGET_CONSTRAINT, n_params - budget)
    if n_params > budget:
        reason = f"budget: {n_params:,} > {budget:,} parameters"
        trial.set_user_attr(PRUNED_REASON, reason)
        raise optuna.TrialPruned(reason)
    return config


def _space_config(trial: optuna.Trial, space: Space, budget: int) -> TrainConfig:
    """The space's config. Whatever it raises is that trial's fault (runner.py fails it): a
    UserError (one of its files is bad, say) too, which would stop the search, and a
    TrialPruned (a PRUNED trial without a budget reason is one the pruner stopped after
    training, and counts towards --trials)."""
    try:
        return call_space(space, trial, budget)
    except optuna.TrialPruned as err:
        raise ConfigError(
            f"the space raised TrialPruned: {err or 'no reason given'} (only the budget and the "
            "pruner prune a trial; one the space skips fails, and does not count as trained)"
        ) from err
    except ConfigError:
        raise
    except UserError as err:
        raise ConfigError(f"the space raised {type(err).__name__}: {err}") from err
