from collections.abc import Callable

import pytest
import torch
from torchvision.transforms import v2

from trainers import AugmentConfig, DataConfig, ModelConfig, OptimConfig, TrainConfig
from trainers import policies as policies_module
from trainers.augment_ops import NAMES, apply
from trainers.data import Batches, Split
from trainers.loop import fit
from trainers.policies import BINS, Policy, op_space

POLICIES = ["trivialaugment", "randaugment"]


def natural_batch(n: int, seed: int = 0) -> torch.Tensor:
    """Smooth images with edges and a spread of intensities, so that every op changes them."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 256, (n, 3, 8, 8), generator=generator, dtype=torch.uint8)
    return torch.nn.functional.interpolate(coarse.float(), size=32, mode="bilinear").byte()


def every_op(wide: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (op, magnitude bin, sign) of a policy's space, once each: ops and magnitudes."""
    ops, magnitudes = [], []
    for i, (bins, signed) in enumerate(op_space(wide).values()):
        for value in [0.0] if bins is None else [float(v) for v in bins]:
            for sign in (1, -1) if signed else (1,):
                ops.append(i)
                magnitudes.append(sign * value)
    return torch.tensor(ops), torch.tensor(magnitudes, dtype=torch.float64)


def torchvisions(images: torch.Tensor, ops: torch.Tensor, magnitudes: torch.Tensor) -> torch.Tensor:
    """torchvision's v2 op on each image alone, as TrivialAugmentWide and RandAugment call it."""
    transform, mode = v2.TrivialAugmentWide(), v2.InterpolationMode.NEAREST
    return torch.cat([
        transform._apply_image_or_video_transform(image[None], NAMES[op], m, mode, fill={})
        for image, op, m in zip(images, ops.tolist(), magnitudes.tolist(), strict=True)
    ])  # fmt: skip


def ops_dispatched(call: Callable[..., object], *args: object) -> int:
    """The ATen ops `call(*args)` dispatches itself (not those they call), views included."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        call(*args)
    return sum(e.name.startswith("aten::") and e.cpu_parent is None for e in profile.events())


@pytest.mark.parametrize("wide", [True, False])
def test_each_op_of_a_batch_is_torchvisions_on_its_image_alone(wide):
    ops, magnitudes = every_op(wide)  # 623 images, each its own (op, bin, sign)
    images = natural_batch(len(ops), seed=1)
    out = apply(images, ops, magnitudes)
    expected = torchvisions(images, ops, magnitudes)
    wrong = [
        (NAMES[op], m)
        for op, m, a, b in zip(ops.tolist(), magnitudes.tolist(), out, expected, strict=True)
        if not torch.equal(a, b)
    ]
    assert not wrong
    assert torch.equal(images, natural_batch(len(ops), seed=1))  # the input is left as it was


def test_space_order_is_the_ops_order_and_torchvisions_spaces():
    for ours, theirs in ((op_space(wide=True), v2.TrivialAugmentWide),
                         (op_space(wide=False), v2.RandAugment)):  # fmt: skip
        reference = theirs._AUGMENTATION_SPACE
        assert tuple(ours) == tuple(reference) == NAMES
        for name, (bins, signed) in ours.items():
            expected = reference[name][0](BINS, 32, 32)
            assert signed == reference[name][1]
            assert (bins is None) == (expected is None)
            assert bins is None or torch.equal(bins, expected)


@pytest.mark.parametrize("name", POLICIES)
def test_a_round_costs_the_same_few_ops_whatever_the_batch_drew(name):
    """About 150 tensor ops a round at any batch size (a call per (op, sign) made 540): on a GPU
    each device op is a kernel launch."""
    counts, policy = {}, Policy(name, ops=1)
    policy(natural_batch(64))  # made once: the sampling grid and the blur kernel
    for n in (64, 256, 1024):  # every family of ops drawn at least once
        torch.manual_seed(0)
        counts[n] = ops_dispatched(policy, natural_batch(n))
    assert max(counts.values()) < 180, counts
    assert max(counts.values()) - min(counts.values()) <= 10, counts  # not per group or image


@pytest.mark.parametrize("name", POLICIES)
def test_every_image_draws_its_own_op_and_sign(name):
    torch.manual_seed(0)
    ops, magnitudes = Policy(name, ops=1).draw(14 * 300)
    shares = torch.bincount(ops, minlength=len(NAMES)) / len(ops)
    assert shares.min() > 0.05 and shares.max() < 0.09  # uniform: 1/14 = 0.071
    signed = torch.tensor([s for _, s in op_space(name == "trivialaugment").values()])[ops]
    negative = (magnitudes < 0).float()
    assert 0.4 < negative[signed].mean() < 0.6 and not negative[~signed].any()


def test_trivialaugment_draws_a_magnitude_per_image_over_all_bins():
    space = op_space(wide=True)
    torch.manual_seed(0)
    ops, magnitudes = Policy("trivialaugment").draw(14 * 300)
    for i, (bins, _) in enumerate(space.values()):
        drawn = magnitudes[ops == i].abs()
        if bins is None:
            assert not drawn.any()
        else:  # each of the 31 bins, images of one batch with one op at many magnitudes
            assert set(drawn.float().tolist()) == set(bins.float().tolist()), NAMES[i]


def test_randaugment_applies_its_ops_in_turn_at_its_fixed_magnitude(monkeypatch):
    rounds, space = [], op_space(wide=False)

    def spy(images, ops, magnitudes):
        rounds.append((ops, magnitudes))
        return apply(images, ops, magnitudes)

    monkeypatch.setattr(policies_module, "apply", spy)
    torch.manual_seed(0)
    out = Policy("randaugment", ops=3, magnitude=17)(natural_batch(64))
    assert out.shape == (64, 3, 32, 32) and len(rounds) == 3
    for ops, magnitudes in rounds:
        assert len(ops) == 64
        for op, m in zip(ops.tolist(), magnitudes.tolist(), strict=True):
            bins = space[NAMES[op]][0]
            assert m == 0 if bins is None else abs(m) == pytest.approx(float(bins[17]))
    assert len({tuple(ops.tolist()) for ops, _ in rounds}) == 3  # each round draws afresh


def test_a_batch_of_one_op_or_none_is_applied_as_that_op():
    images = natural_batch(8)
    same = torch.zeros(8, dtype=torch.long)  # Identity for all
    assert torch.equal(apply(images, same, torch.zeros(8, dtype=torch.float64)), images)
    ops, magnitudes = torch.full((8,), NAMES.index("Rotate")), torch.full((8,), 30.0).double()
    assert torch.equal(apply(images, ops, magnitudes), torchvisions(images, ops, magnitudes))


@pytest.mark.parametrize("name", POLICIES)
def test_policies_run_on_training_batches_only(name, monkeypatch):
    seen = []
    apply = Policy.__call__

    def spy(self, images):
        seen.append(len(images))
        return apply(self, images)

    monkeypatch.setattr(Policy, "__call__", spy)
    images, labels = natural_batch(160), torch.arange(160) % 10
    data = Split(images[:128], labels[:128], images[128:], labels[128:])
    config = TrainConfig(
        model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 8)),
        optim=OptimConfig(batch_size=32),
        augment=AugmentConfig(policy=name),
        data=DataConfig(val_size=32, train_subset=128),
        epochs=2,
    )
    fit(config, data)
    assert seen == [32] * 8  # 4 training batches an epoch; validation never augmented
    batches = Batches(images, labels, 32, AugmentConfig(), seed=0)
    assert batches.policy is None


@pytest.mark.gpu
def test_on_cuda_each_op_is_the_cpus_and_augmenting_never_waits_for_the_gpu():
    """The same draws give the CPU's images on the GPU (a nearest sample on a pixel's edge may
    round the other way), and no augmentation, policy or mix, synchronizes with the device:
    the host can queue the next batch while the GPU trains on this one."""
    for wide in (True, False):
        ops, magnitudes = every_op(wide)
        images = natural_batch(len(ops), seed=1)
        on_gpu = apply(images.cuda(), ops, magnitudes).cpu()
        assert (on_gpu == apply(images, ops, magnitudes)).float().mean() > 0.99
    images, labels = natural_batch(256).cuda(), torch.arange(256, device="cuda") % 10
    for augment in (AugmentConfig(policy="trivialaugment", cutmix_prob=0.5, mixup_prob=0.5),
                    AugmentConfig(policy="randaugment", cutmix_prob=1.0),
                    AugmentConfig(mixup_prob=1.0)):  # fmt: skip
        batches = Batches(images, labels, 128, augment, seed=0)
        batches.augmented(images[:128], labels[:128])  # the first call's caches
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(4):
                batches.augmented(images[:128], labels[:128])
        finally:
            torch.cuda.set_sync_debug_mode("default")
