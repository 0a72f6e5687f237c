import random

from search.executors.sharing import FILL_MACS, trials_per_gpu
from trainers import ModelConfig, OptimConfig, TrainConfig
from trainers.counting import count_macs


def config(model: ModelConfig, batch: int) -> TrainConfig:
    return TrainConfig(model=model, optim=OptimConfig(batch_size=batch))


def test_the_measured_model_shares_a_gpu_at_the_batches_that_left_it_idle():
    # issue 15, one H100: the same step time at batch 64 and 128, near the GPU's pace at 512
    measured = ModelConfig(64, (3, 4, 3), (64, 128, 256))
    assert [trials_per_gpu(config(measured, b)) for b in (64, 128, 256, 512)] == [4, 2, 1, 1]


def test_a_tiny_model_shares_four_ways_and_resnet18_at_a_large_batch_not_at_all():
    tiny = ModelConfig(16, (1, 1), (16, 32))
    assert trials_per_gpu(config(tiny, 64)) == trials_per_gpu(config(tiny, 512)) == 4
    assert trials_per_gpu(config(ModelConfig(), 512)) == 1


def test_more_arithmetic_per_step_never_gives_more_trials_per_gpu():
    rng = random.Random(0)
    configs = [
        config(ModelConfig(rng.randint(8, 64), (rng.randint(1, 18),) * 3,
                           tuple(rng.randint(8, 256) for _ in range(3))),
               rng.choice([64, 128, 256, 512]))
        for _ in range(300)
    ]  # fmt: skip
    by_work = sorted(configs, key=lambda c: count_macs(c.model) * c.optim.batch_size)
    shares = [trials_per_gpu(c) for c in by_work]
    assert shares == sorted(shares, reverse=True)
    assert set(shares) == {1, 2, 4}
    for c, n in zip(by_work, shares, strict=True):  # together, n steps stay within the fill
        assert n == 1 or n * count_macs(c.model) * c.optim.batch_size <= FILL_MACS
