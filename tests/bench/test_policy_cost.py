"""bench/policy_cost.py times and counts one augmented batch per setting, policies beside
torchvision's one-op-a-batch floor."""

import sys

import policy_cost
import torch


def test_each_setting_is_one_row_with_its_time_and_ops(monkeypatch, capsys):
    argv = [
        "policy_cost.py",
        "--device",
        "cpu",
        "--batches",
        "32",
        "--rounds",
        "1",
        "--repeats",
        "1",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    policy_cost.main()
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines()[3:]]
    names = [row[0].strip() for row in rows]
    assert names[:5] == list(policy_cost.SETTINGS) and len(names) == 5 + 3 * 2
    ops = {row[0].strip(): int(row[4]) for row in rows}
    assert all(float(row[2]) > 0 and row[5].strip() == "-" for row in rows)  # no CUDA counts
    default = ops["crop + flip (default)"]
    assert default < ops["+ TrivialAugment"] < ops["+ RandAugment 2 x 9"] < default + 400
    for name in policy_cost.POLICIES:  # a few batch calls, against a call per (op, sign) group
        assert ops[f"{name} alone"] < ops[f"{name} alone, {policy_cost.PER_GROUP}"] / 2


def test_a_setting_is_the_batch_a_trial_trains_on():
    calls = policy_cost.calls(torch.device("cpu"), 16)
    images, targets = calls["+ MixUp"]()
    assert images.shape == (16, 3, 32, 32) and images.dtype == torch.float32
    assert targets.shape == (16, 10)  # MixUp's soft targets
    for name in policy_cost.POLICIES:
        for way in ("alone", f"alone, {policy_cost.PER_GROUP}", f"alone, {policy_cost.ONE_OP}"):
            out = calls[f"{name} {way}"]()
            assert out.shape == (16, 3, 32, 32) and out.dtype == torch.uint8
