import pytest
import torch
from torchvision.transforms import v2

from trainers import AugmentConfig, DataConfig, ModelConfig, OptimConfig, TrainConfig
from trainers import policies as policies_module
from trainers.data import Batches, Split
from trainers.policies import BINS, OPS, Policy, op_space
from trainers.train import fit

POLICIES = ["trivialaugment", "randaugment"]


def natural_batch(n: int, seed: int = 0) -> torch.Tensor:
    """Smooth images with edges and a spread of intensities, so that every op changes them."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 256, (n, 3, 8, 8), generator=generator, dtype=torch.uint8)
    return torch.nn.functional.interpolate(coarse.float(), size=32, mode="bilinear").byte()


@pytest.fixture
def calls(monkeypatch):
    """Every op call of the policies: (op name, sub-batch size, magnitude)."""
    seen = []
    for name, op in OPS.items():

        def spy(x, m, name=name, op=op):
            seen.append((name, len(x), m))
            return op(x, m)

        monkeypatch.setitem(policies_module.OPS, name, spy)
    return seen


@pytest.mark.parametrize("name", POLICIES)
def test_a_policy_changes_most_images_and_keeps_uint8_and_shape(name):
    images = natural_batch(128)
    torch.manual_seed(0)
    out = Policy(name)(images)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    changed = (out != images).flatten(1).any(1).float().mean().item()
    assert changed > (0.75 if name == "trivialaugment" else 0.9)  # identity: 1/14 (per op)
    assert torch.equal(images, natural_batch(128))  # the input is left as it was


@pytest.mark.parametrize("name", POLICIES)
def test_different_images_of_one_batch_get_different_ops(name, calls):
    images = natural_batch(1).expand(256, -1, -1, -1).contiguous()  # one image, 256 times
    torch.manual_seed(0)
    out = Policy(name, ops=1)(images)
    # torchvision's v2 transform on a batch: one op, so at most 2 distinct results (its sign)
    assert len({bytes(image.flatten().tolist()) for image in out}) >= 12
    names = [op for op, _, _ in calls]
    assert len(set(names)) >= 12 and max(map(names.count, names)) <= 2  # a call per op, sign
    identity = 256 - sum(size for _, size, _ in calls)
    assert 0 < identity < 50  # Identity drawn by about 1/14 of the images and never called


def test_randaugment_applies_its_ops_in_turn_at_its_fixed_magnitude(calls):
    space = op_space(wide=False)
    torch.manual_seed(0)
    Policy("randaugment", ops=3, magnitude=17)(natural_batch(64))
    assert 45 < sum(size for _, size, _ in calls) <= 3 * 64
    for op, _, magnitude in calls:
        bins = space[op][0]
        assert bins is None or abs(magnitude) == pytest.approx(float(bins[17]))
    assert any(m < 0 for _, _, m in calls) and any(m > 0 for _, _, m in calls)


def test_trivialaugment_draws_a_magnitude_per_group_over_all_bins(calls):
    space = op_space(wide=True)
    torch.manual_seed(0)
    for seed in range(8):
        Policy("trivialaugment")(natural_batch(64, seed))
    used = {(op, round(abs(m), 4)) for op, _, m in calls if space[op][0] is not None}
    assert len(used) > 40  # many (op, magnitude) pairs, not one magnitude per op
    for op, magnitude in used:
        bins = [round(float(v), 4) for v in space[op][0]]
        assert magnitude in bins


def test_spaces_and_ops_are_torchvisions():
    for ours, theirs in ((op_space(wide=True), v2.TrivialAugmentWide),
                         (op_space(wide=False), v2.RandAugment)):  # fmt: skip
        reference = theirs._AUGMENTATION_SPACE
        assert list(ours) == list(reference)
        for name, (bins, signed) in ours.items():
            expected = reference[name][0](BINS, 32, 32)
            assert signed == reference[name][1]
            assert (bins is None) == (expected is None)
            assert bins is None or torch.equal(bins, expected)
    images, transform = natural_batch(4), v2.TrivialAugmentWide()
    for name, op in OPS.items():
        magnitude = 5.0 if name == "Posterize" else -0.4
        expected = transform._apply_image_or_video_transform(
            images, name, magnitude, interpolation=v2.InterpolationMode.NEAREST, fill={}
        )
        assert torch.equal(op(images, magnitude), expected), name


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
