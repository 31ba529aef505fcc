"""inputs_1000_vs_100 and signatures_50_vs_5: export time (build, trace, write, verify, publish)
as the number of inputs and of signatures grows tenfold. Linear scaling gives about 10.

    .venv/bin/python bench/scale.py
"""

from __future__ import annotations

import time

from _inprocess import export, tabular_config


def timed(n_inputs: int, n_signatures: int) -> float:
    cfg = tabular_config(n_inputs, n_signatures)
    start = time.perf_counter()
    export(cfg)
    return time.perf_counter() - start


def main() -> None:
    timed(10, 1)  # warm-up: TensorFlow's and Keras's first-use costs
    small, large = timed(100, 1), timed(1000, 1)
    print(f"inputs_1000_vs_100: {large / small:.2f}")
    print(f"  100 inputs (s): {small:.2f}  1000 inputs (s): {large:.2f}")
    few, many = timed(10, 5), timed(10, 50)
    print(f"signatures_50_vs_5: {many / few:.2f}")
    print(f"  5 signatures (s): {few:.2f}  50 signatures (s): {many:.2f}")


if __name__ == "__main__":
    main()
