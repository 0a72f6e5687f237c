"""The driver loop: ask, sample, reject over-budget configs, hand the rest to an executor, tell.

One loop for every executor (search.executors). The sampler, the budget check, every `tell` and
what a person sees stay here, with the study; executors only train. Several drivers may run one
study at once (several `search run` on one storage): they count each other's running trials,
fail the ones whose driver died (no heartbeat) and run them again from their checkpoints.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import replace

import optuna
from optuna.trial import FrozenTrial, TrialState

from errors import ConfigError, SearchError, UserError
from search.claim import NoPlace, claim_queued
from search.console import log
from search.draft import Draft
from search.executors import Executor
from search.heartbeat import GRACE_BEATS, Heartbeat, fail_dead
from search.interrupts import check, held
from search.plan import Plan, checkpoint_path
from search.progress import TrialProgress
from search.retry import NOT_RETRIED, can_retry, retry
from search.sampling import sample
from search.training import Outcome, fault_reason
from search.trial import (
    FAIL_REASON,
    as_sampled,
    frozen,
    is_trained,
    reason,
    retried_from,
    storage_of,
    trained_count,
    trial_id,
)

__all__ = ["MAX_UNTRAINED_IN_A_ROW", "POLL_S", "run_trials"]

MAX_UNTRAINED_IN_A_ROW = 100  # budget rejections or failures in a row before a run gives up
POLL_S = 1.0  # how often the loop looks at trials running elsewhere (Ray workers)


class _GaveUp(SearchError):
    """Too many trials in a row did not train."""


class _Loop:
    """State of one `run_trials` call."""

    def __init__(
        self, study: optuna.Study, plan: Plan, executor: Executor, progress: TrialProgress,
        beats: Heartbeat,
    ) -> None:  # fmt: skip
        self.study, self.plan, self.executor = study, plan, executor
        self.progress, self.beats = progress, beats
        self.in_hand: dict[int, optuna.Trial] = {}  # asked and not yet told, by number
        self.untrained_in_a_row, self.last_reason = 0, ""  # the last untrained trial's reason
        self.waiting_said = self.time_up_said = False  # each said once

    def ask(self) -> optuna.Trial:
        """A queued trial if the study holds one, in hand: retries first (they resume their
        checkpoints, as the same command promises), then the published designs in their order;
        else a draft, sampled in memory and written in one transaction once it is known whether
        it trains (search.draft)."""
        trials = self.study.get_trials(deepcopy=False)
        queued = [t for t in trials if t.state == TrialState.WAITING]
        if not queued:
            return Draft(self.study, trials)
        queued.sort(key=lambda t: (retried_from(t) is None, t.number))
        with held():
            trial = claim_queued(self.study, queued, self.plan.target)
            if trial is not None:
                self.hold(trial)
                return trial
        return Draft(self.study, self.study.get_trials(deepcopy=False))  # others took them

    def hold(self, trial: optuna.Trial) -> None:
        """Beat for a trial that is RUNNING in the storage and keep it until it is told."""
        self.beats.add(trial_id(trial))
        self.in_hand[trial.number] = trial

    def admit(self, trial: optuna.Trial) -> optuna.Trial:
        """The sampled trial RUNNING in the storage and in hand (a draft is written now, if the
        study still has a place for it: else NoPlace, and nothing is written)."""
        if not isinstance(trial, Draft):
            return trial
        with held():
            written = trial.write(TrialState.RUNNING, self.plan.target)
            self.hold(written)
        return written

    def tell(self, trial: optuna.Trial, outcome: Outcome) -> None:
        """Record how the trial ended (a draft in one write); a FAIL to retry is queued again to
        resume from its checkpoint, and a trial that ended for good leaves no checkpoint."""
        with held():
            if isinstance(trial, Draft):
                if outcome.state == TrialState.FAIL:
                    trial.set_user_attr(FAIL_REASON, outcome.reason)
                record = trial.write(outcome.state)
            else:
                record = self._told(trial, outcome)
        self.progress.ended(record)
        self.untrained_in_a_row = 0 if is_trained(record) else self.untrained_in_a_row + 1
        self.last_reason = reason(record)

    def _told(self, trial: optuna.Trial, outcome: Outcome) -> FrozenTrial:
        before = frozen(trial)
        checkpoint = checkpoint_path(self.plan.checkpoints, before)
        again = outcome.retry and can_retry(before)
        if outcome.retry:  # the record says what happens next
            how = "resume from its checkpoint" if checkpoint.is_file() else "start again"
            then = f"queued to {how}" if again else NOT_RETRIED
            outcome = replace(outcome, reason=f"{outcome.reason}; {then}")
        told = self._record(trial, outcome)
        self.beats.discard(trial_id(trial))
        del self.in_hand[trial.number]
        record = frozen(trial)
        if told and not (again and retry(self.study, as_sampled(record))):
            checkpoint.unlink(missing_ok=True)
        return record

    def _record(self, trial: optuna.Trial, outcome: Outcome) -> bool:
        """Tell the outcome; False if another driver told it first (one that judged this driver
        dead by its heartbeats and failed the trial), whose result, checkpoint and retry stand."""
        try:
            if outcome.state == TrialState.COMPLETE:
                self.study.tell(trial, outcome.value)
            else:
                if outcome.state == TrialState.FAIL:
                    trial.set_user_attr(FAIL_REASON, outcome.reason)
                self.study.tell(trial, state=outcome.state)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
            if frozen(trial).state == TrialState.RUNNING:  # not the race: a fault of this tell
                raise
            log(f"trial {trial.number} was also run by another driver, which told it first")
            return False
        return True

    def start(self, trial: optuna.Trial) -> bool:
        """Sample the trial and hand it to the executor; False if it ended here instead (over
        budget, or a fault of its space, its config or, in this process, its training). Raises
        NoPlace, writing nothing, if other drivers took the last place while it was sampled."""
        try:
            with held():  # a queued trial's sampler writes to the storage
                config = sample(trial, self.plan.space, self.plan.fidelity, self.plan.budget)
            trial = self.admit(trial)
            checkpoint = checkpoint_path(self.plan.checkpoints, frozen(trial))
            self.executor.submit(trial, config, checkpoint)
            return True
        except optuna.TrialPruned:
            outcome = Outcome(TrialState.PRUNED)
        except ConfigError as err:
            outcome = Outcome(TrialState.FAIL, reason=str(err))
        except NoPlace:
            raise  # others took the last place while it was sampled: nothing was written
        except UserError:
            raise  # bad input training found (the data, say): nothing more can train
        except Exception as err:  # noqa: BLE001  # the one place a trial's fault is its FAIL
            # (one raised in a Ray task comes back as Ray's RayError: RayExecutor._outcome)
            outcome = Outcome(TrialState.FAIL, reason=fault_reason(err))
        self.tell(trial, outcome)
        return False

    def time_up(self) -> bool:
        """Whether the deadline has passed (said once): no trial starts after it."""
        if self.plan.deadline is None or time.monotonic() < self.plan.deadline:
            return False
        if not self.time_up_said:
            running = len(self.executor.running())
            finish = f"; the {running} running finish" * (running > 0)
            log(f"time is up: no more trials start{finish} (the same command goes on later)")
            self.time_up_said = True
        return True

    def launch(self, trained: int) -> None:
        """Start trials while this executor has room, the study needs them and there is time."""
        busy = len(self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        while self.executor.has_room() and trained + busy < self.plan.target:
            if self.time_up():
                return
            if self.untrained_in_a_row >= MAX_UNTRAINED_IN_A_ROW:
                raise _GaveUp
            try:
                busy += self.start(self.ask())
            except NoPlace:  # other drivers took the last places meanwhile (search.claim)
                return

    def wait_for_others(self) -> None:
        """All places are held by trials of other drivers (alive, or dead but not yet stale),
        unless the study has all its trials now (counted again: launch may have ended one)."""
        if trained_count(self.study.get_trials(deepcopy=False)) >= self.plan.target:
            return
        if not self.waiting_said:
            log(f"waiting for trials running in other processes (a dead one's are failed and "
                f"run again after {GRACE_BEATS} of its heartbeats are missed)")  # fmt: skip
            self.waiting_said = True
        time.sleep(self.plan.heartbeat_s)

    def show_running(self) -> None:
        """Show the running trials' progress as the storage has it, wherever they train."""
        self.progress.running(frozen(t) for t in self.executor.running())

    def fail_dead(self) -> None:
        """FAIL the trials of drivers that died; those that had beaten are queued again."""
        with held():
            fail_dead(self.study, self.plan.heartbeat_s)

    def run(self) -> None:
        while True:
            check()  # an interrupt that came inside a storage read
            self.fail_dead()
            trained = trained_count(self.study.get_trials(deepcopy=False))
            done = trained >= self.plan.target or self.time_up()
            if done and not self.executor.running():
                return
            self.launch(trained)
            if self.executor.running():
                for trial, outcome in self.executor.wait(POLL_S):
                    self.tell(trial, outcome)
                self.show_running()
            elif not self.time_up():  # the deadline can pass inside launch: nothing to wait for
                self.wait_for_others()

    def fail_in_hand(self, why: str, again: bool = False) -> None:
        """Tell the trials that have ended, stop the others, tell them FAIL (retried if `again`)."""
        with held():
            with suppress(SearchError):  # another worker met the same bad input: told below
                for trial, outcome in self.executor.wait(0) if self.executor.running() else []:
                    self.tell(trial, outcome)
            self.executor.cancel()
            for trial in list(self.in_hand.values()):
                if frozen(trial).state == TrialState.RUNNING:
                    self.tell(trial, Outcome(TrialState.FAIL, reason=why, retry=again))


def run_trials(
    study: optuna.Study, plan: Plan, executor: Executor, progress: TrialProgress
) -> None:
    """Run until the study holds `plan.target` trained trials, never more, or until
    `plan.deadline`, after which no trial starts and the running ones finish.

    A trial is started only while trained + running (in any process) < target. An interrupt
    (Ctrl-C, SIGTERM; see search.interrupts) stops the running trials, marks them FAIL and
    queues them again, so that the next run resumes them from their checkpoints.
    """
    with Heartbeat(storage_of(study), plan.heartbeat_s) as beats:
        loop = _Loop(study, plan, executor, progress, beats)
        try:
            loop.run()
        except _GaveUp:
            loop.fail_in_hand("stopped: too many trials in a row did not train")
            raise UserError(
                f"{MAX_UNTRAINED_IN_A_ROW} trials in a row did not train (the last: "
                f"{loop.last_reason or 'no reason recorded'}); allowed: a larger --budget, or a "
                "space whose configs fit it and train"
            ) from None
        except KeyboardInterrupt:
            loop.fail_in_hand("interrupted", again=True)
            raise
        except SearchError as err:  # bad input a trial found: nothing more can train
            loop.fail_in_hand(f"stopped: {err}")
            raise
