"""Run every benchmark module (``benchmarks/bench_*.py``) in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named in ``argv`` (module suffixes), or all of them."""
    wanted = set(argv if argv is not None else sys.argv[1:])
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if wanted and info.name.removeprefix("bench_") not in wanted:
            continue
        print(f"== {info.name}", flush=True)
        module = importlib.import_module(f"benchmarks.{info.name}")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
