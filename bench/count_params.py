"""Cost of counting a model's parameters: arithmetic vs. building on the meta device vs. real.

python bench/count_params.py
"""

from __future__ import annotations

import statistics
import time

from trainers import ModelConfig, build_model, count_params

CONFIGS = {
    "resnet18 (11.2M)": ModelConfig(),
    "4.9M, 3 stages": ModelConfig(stem_width=96, depths=(2, 4, 1), widths=(96, 192, 384)),
    "4.2M, 5 stages": ModelConfig(
        stem_width=128, depths=(2, 4, 4, 3, 1), widths=(128,) * 5, block="preact"
    ),
}


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    header = ("model", "params", "arithmetic ms", "meta build ms", "cpu build ms")
    print(f"{header[0]:<18} {header[1]:>11} {header[2]:>14} {header[3]:>14} {header[4]:>13}")
    for name, cfg in CONFIGS.items():
        n = count_params(cfg)
        arithmetic = median_ms(lambda cfg=cfg: count_params(cfg), 1000)
        meta = median_ms(lambda cfg=cfg: build_model(cfg, "meta"), 20)
        real = median_ms(lambda cfg=cfg: build_model(cfg), 5)
        print(f"{name:<18} {n:>11,} {arithmetic:>14.4f} {meta:>14.1f} {real:>13.1f}")


if __name__ == "__main__":
    main()
