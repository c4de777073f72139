"""The bench's fresh processes (not for users; `regtui bench` starts them).

python -m regtui.bench w2 DEVICE EPOCHS RUNS_DIR INDEX   W2's pair: "monitor headless" seconds
python -m regtui.bench open RUN_DIR                      S100k: "seconds peak-growth-bytes"
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    if argv[:1] == ["w2"] and len(argv) == 5:
        from regtui.bench.pairing import monitor_and_headless
        from regtui.bench.trainer import bench_config

        device, epochs, runs_dir, index = argv[1:]
        print(*monitor_and_headless(bench_config(device, epochs=int(epochs)), Path(runs_dir),
                                    int(index)))
    elif argv[:1] == ["open"] and len(argv) == 2:
        from regtui.bench.rundirs import measure_open

        print(*measure_open(Path(argv[1])))
    else:
        sys.exit("usage: python -m regtui.bench w2 DEVICE EPOCHS RUNS_DIR INDEX | open RUN_DIR")


if __name__ == "__main__":
    main(sys.argv[1:])
