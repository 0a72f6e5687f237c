"""What the search gained: its best sampled model against the best published design it tried
first (the warm start's zoo), in validation accuracy and parameters; and which designs the
pruner stopped before they could compete (a pruned trial's partial score is never a final one,
so the comparison is against fewer designs than were tried)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.study import FIDELITY
from search.trial import DESIGN, N_PARAMS, TrialOutcome, outcome

__all__ = ["Gain", "gain", "standard_error", "val_size_of"]


def standard_error(accuracy: float, images: int) -> float:
    """The binomial standard error of an accuracy measured on `images` images."""
    return math.sqrt(accuracy * (1 - accuracy) / images)


def val_size_of(study: optuna.Study) -> int | None:
    """How many held-out images validated the study's trials, if it recorded its fidelity."""
    return (study.user_attrs.get(FIDELITY) or {}).get("val_size")


def _best(trials: list[FrozenTrial]) -> FrozenTrial | None:
    return max(trials, key=lambda t: t.value, default=None)


def _millions(trial: FrozenTrial) -> str:
    return f"{trial.user_attrs[N_PARAMS] / 1e6:.2f}M"


@dataclass(frozen=True)
class Gain:
    """The best completed trial the sampler proposed, and the best completed zoo design."""

    found: FrozenTrial | None
    published: FrozenTrial | None
    val_size: int | None = None  # validation images behind each accuracy, when known
    stopped: tuple[str, ...] = ()  # designs the fidelity pruner stopped: not compared

    @property
    def points(self) -> float | None:
        """Validation accuracy gained, in percentage points; None until both have completed."""
        if self.found is None or self.published is None:
            return None
        return 100 * (self.found.value - self.published.value)

    @property
    def points_se(self) -> float | None:
        """The standard error of `points`, as if the two accuracies were independent (they share
        their validation images, so it errs on the large side); None without the val size."""
        if self.points is None or not self.val_size:
            return None
        found, published = self.found.value, self.published.value  # type: ignore[union-attr]
        errors = (standard_error(a, self.val_size) for a in (found, published))
        return 100 * math.sqrt(sum(e * e for e in errors))

    def line(self) -> str:
        """E.g. "best found 0.912 (3.10M, trial 17) vs best published design WRN-16-4 0.897
        (2.75M, trial 4): +1.5 points", then the designs the pruner stopped, if any."""
        stopped = ""
        if self.stopped:
            stopped = (f"; stopped early by the pruner, so not compared: "
                       f"{', '.join(self.stopped)}")  # fmt: skip
        return self._compared() + stopped

    def _compared(self) -> str:
        found = self.found
        said = [f"best found {found.value:.3f} ({_millions(found)}, trial {found.number})"
                if found else "no sampled design has completed yet"]  # fmt: skip
        if self.published is None:
            return f"{said[0]}; no published design has completed yet"
        pub = self.published
        said.append(f"best published design {pub.user_attrs[DESIGN]} {pub.value:.3f} "
                    f"({_millions(pub)}, trial {pub.number})")  # fmt: skip
        if self.points is None:
            return f"{said[1]}; {said[0]}"
        noise = ""
        if self.points_se is not None:
            noise = f" (standard error {self.points_se:.1f}, {self.val_size:,} validation images)"
        return f"{said[0]} vs {said[1]}: {self.points:+.1f} points{noise}"

    def as_dict(self) -> dict[str, object]:
        """For the export: both trials' number, accuracy and size, and the difference."""

        def one(trial: FrozenTrial | None) -> dict[str, object] | None:
            if trial is None:
                return None
            out = {
                "trial": trial.number,
                "val_accuracy": trial.value,
                N_PARAMS: trial.user_attrs[N_PARAMS],
            }
            return {
                **({"design": trial.user_attrs[DESIGN]} if DESIGN in trial.user_attrs else {}),
                **out,
            }

        return {"found": one(self.found), "published": one(self.published),
                "points": self.points, "points_se": self.points_se,
                "stopped_designs": list(self.stopped)}  # fmt: skip


def gain(trials: Iterable[FrozenTrial], val_size: int | None = None) -> Gain | None:
    """The gain over the zoo, or None for a study that tried no published design; with the
    number of validation images, its standard error too."""
    trials = list(trials)
    if not any(DESIGN in t.user_attrs for t in trials):
        return None
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    stopped = [t for t in trials if DESIGN in t.user_attrs and outcome(t) == TrialOutcome.PRUNED]
    return Gain(
        found=_best([t for t in done if DESIGN not in t.user_attrs]),
        published=_best([t for t in done if DESIGN in t.user_attrs]),
        val_size=val_size,
        stopped=tuple(t.user_attrs[DESIGN] for t in stopped),
    )
