"""The fuzz suite's long run: N mutated specs (default 10,000) through the loader and every compiler,
each in a worker process under time and memory limits (tests/fuzz_specs.py).

    uv run python benchmarks/fuzz_long.py [--examples N] [--save-slowest FILE]

Prints how many cases ended valid, refused (a spec error or a backend's refusal, exit 2 for a user)
and unexpected (any other exception, a case over its time limit, a worker killed by its memory limit),
and the slowest case. Exit 1 if any was unexpected.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("fuzz_specs", HERE.parent / "tests" / "fuzz_specs.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_specs"] = fuzz
_spec.loader.exec_module(fuzz)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--save-slowest", type=Path, default=None, help="write the slowest case's text here")
    parser.add_argument("--save-unexpected", type=Path, default=None, help="a folder for each unexpected case")
    args = parser.parse_args()

    pool = fuzz.Pool()
    counts: collections.Counter[str] = collections.Counter()
    details: collections.Counter[str] = collections.Counter()
    slowest: tuple[float, str] = (0.0, "")
    started = time.perf_counter()

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(text=fuzz.mutants(fuzz.seed_texts()))
    def one(text: str) -> None:
        nonlocal slowest
        result = pool.run(text)
        counts[result.outcome] += 1
        if result.outcome == "unexpected":
            details[f"{result.outcome}: {result.detail[:160]}"] += 1
            if result.outcome == "unexpected" and args.save_unexpected:
                args.save_unexpected.mkdir(parents=True, exist_ok=True)
                n = counts["unexpected"]
                (args.save_unexpected / f"case-{n}.yaml").write_text(text, "utf-8", errors="surrogatepass")
                (args.save_unexpected / f"case-{n}.txt").write_text(result.detail + "\n" + result.tb, "utf-8")
        if result.seconds > slowest[0]:
            slowest = (result.seconds, text)
        total = sum(counts.values())
        if total % 500 == 0:
            print(f"  {total} cases, {dict(counts)}, {time.perf_counter() - started:.0f} s", flush=True)

    try:
        one()
    finally:
        pool.close()
    total = sum(counts.values())
    elapsed = time.perf_counter() - started
    print(f"cases: {total} in {elapsed:.0f} s ({total / elapsed:.1f}/s)")
    for outcome in ("valid", "refused", "unexpected"):
        print(f"  {outcome}: {counts[outcome]}")
    for detail, n in details.most_common(20):
        print(f"    {n} x {detail}")
    print(f"slowest case: {slowest[0]:.2f} s, {len(slowest[1]):,} characters, starting {slowest[1][:120]!r}")
    if args.save_slowest:
        args.save_slowest.write_text(slowest[1], "utf-8", errors="surrogatepass")
    return 1 if counts["unexpected"] else 0


if __name__ == "__main__":
    sys.exit(main())
