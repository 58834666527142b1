"""Fuzzing, the long run: a million inputs into what provd reads from the network.

    python bench/fuzz.py [--inputs 1000000] [--seed N] [--only TARGET ...]

The targets and their properties are those of ``tests/fuzz`` (which runs a few
hundred examples of each in CI): the pure parsers (MAC, User-Agent, requested file
name, Digest header, CSV, key specs) must end bad input in the domain's error or
their documented None; CSV import, layout import, every API body and the phone
path, against a seeded SQLite database in a temporary directory, must never answer
5xx or raise anything but the domain's errors, and a refused request must leave the
database as it was (a dump of every table compared). Prints, per target, the inputs
run, crashes, partial writes and inputs/s, then each distinct failure once; exits 1
if there was any.

The pure parsers get most of the inputs from a seeded mutator (random edits of
valid inputs, a few microseconds each) and a share from the hypothesis strategies
the tests use; the database targets get theirs from hypothesis (hundreds of
microseconds to milliseconds an input), random rather than derandomized, seeded
by ``--seed``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import env, targets

# Shares of --inputs. The database targets cost 100-1000 times more per input.
_PURE_SHARES = {
    "mac": 0.15,
    "user-agent": 0.18,
    "file-name": 0.15,
    "digest-header": 0.20,
    "csv-parse": 0.10,
    "key-spec": 0.17,
}
_HYPOTHESIS_SHARE = 0.02  # of each pure target's inputs
_DB_SHARES = {"csv-import": 0.002, "layout-import": 0.003, "api": 0.01, "phone": 0.005}
_RESET_EVERY = 300  # database-target inputs between restores of the seeded database


@dataclass
class Tally:
    name: str
    inputs: int = 0
    crashes: int = 0
    partial_writes: int = 0
    seconds: float = 0.0
    failures: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    """signature: (count, kind, first example)"""

    def record(self, value: Any, error: BaseException) -> None:
        partial = isinstance(error, env.PartialWrite)
        if partial:
            self.partial_writes += 1
        else:
            self.crashes += 1
        # A 5xx seen from outside carries the server's exception as its cause.
        origin = error.__cause__ if isinstance(error, env.Crash) and error.__cause__ else error
        file, function, line = targets.provd_frame(origin)
        signature = f"{type(origin).__name__} at {file}:{line} ({function})"
        if partial:
            signature = "partial write: " + str(error).rsplit(": ", 1)[-1]
        count, _, example = self.failures.get(signature, (0, "", ""))
        if not example:
            detail = "".join(traceback.format_exception(origin)[-6:])
            known = targets.known(error)
            note = f"known, handed over: {known.name}\n" if known else ""
            example = f"{note}input: {value!r}"[:1500] + "\n" + detail
        self.failures[signature] = (count + 1, "partial" if partial else "crash", example)


def _run_pure(target: targets.PureTarget, count: int, seed: int, tally: Tally) -> None:
    check = target.check
    mutate = targets.Mutator(random.Random(seed), target.seeds)
    by_hypothesis = int(count * _HYPOTHESIS_SHARE)

    def one(value: Any) -> None:
        tally.inputs += 1
        try:
            check(value)
        except Exception as e:
            tally.record(value, e)

    start = time.perf_counter()
    if by_hypothesis:
        hypothesis.seed(seed)(targets.long_settings(by_hypothesis)(given(target.strategy)(one)))()
    for _ in range(count - by_hypothesis):
        one(mutate())
    tally.seconds += time.perf_counter() - start


def _run_db(
    driver: env.Driver,
    name: str,
    check: Callable[[env.FuzzEnv, Any], Any],
    strategy: st.SearchStrategy[Any],
    count: int,
    seed: int,
    tally: Tally,
) -> None:
    since_reset = 0

    def one(value: Any) -> None:
        nonlocal since_reset
        tally.inputs += 1
        since_reset += 1
        try:
            driver.check(check, value)
        except Exception as e:
            tally.record(value, e)
        if since_reset >= _RESET_EVERY:
            driver.run(driver.env.reset())
            since_reset = 0

    start = time.perf_counter()
    # In rounds: hypothesis may stop a single run short of a large max_examples.
    round_no = 0
    while tally.inputs < count:
        round_no += 1
        left = count - tally.inputs
        test = targets.long_settings(left)(given(strategy)(one))
        hypothesis.seed(seed * 1000 + round_no)(test)()
    driver.run(driver.env.reset())
    tally.seconds += time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="total, all targets")
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--only", nargs="+", metavar="TARGET", help="run these targets only")
    args = parser.parse_args()
    # Refusals are what this run is made of: their warnings would drown the report.
    # aiohttp's errors still reach env.SERVER_ERRORS, which ties them to the input.
    logging.getLogger("provd").setLevel(logging.CRITICAL)
    logging.getLogger("aiohttp.server").propagate = False
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    shares = _PURE_SHARES | _DB_SHARES
    chosen = [t for t in shares if not args.only or t in args.only]
    if not chosen:
        parser.error(f"--only takes {', '.join(shares)}")
    scale = args.inputs / sum(shares[t] for t in chosen)
    plan = {t: max(1, int(shares[t] * scale)) for t in chosen}
    plan[chosen[0]] += max(0, args.inputs - sum(plan.values()))  # the rounding's remainder

    print(f"fuzz: seed {seed}, {sum(plan.values()):,} inputs; {_measured()}")
    tallies: list[Tally] = []
    for target in targets.PURE_TARGETS:
        if target.name in plan:
            tally = Tally(target.name)
            tallies.append(tally)
            _run_pure(target, plan[target.name], seed, tally)
            _line(tally)

    db_targets: list[tuple[str, Callable[[env.FuzzEnv, Any], Any], st.SearchStrategy[Any]]] = [
        ("csv-import", env.check_csv_import, env.csv_imports),
        ("layout-import", env.check_layout_import, env.layout_imports),
        ("api", env.check_api, env.api_calls()),
        ("phone", env.check_phone, env.phone_calls),
    ]
    if any(name in plan for name, _, _ in db_targets):
        with (
            tempfile.TemporaryDirectory(prefix="provd-fuzz-") as tmp,
            env.Driver(Path(tmp)) as driver,
        ):
            for name, check, strategy in db_targets:
                if name in plan:
                    tally = Tally(name)
                    tallies.append(tally)
                    _run_db(driver, name, check, strategy, plan[name], seed, tally)
                    _line(tally)

    total = Tally("total")
    for t in tallies:
        total.inputs += t.inputs
        total.crashes += t.crashes
        total.partial_writes += t.partial_writes
        total.seconds += t.seconds
    print("-" * 72)
    _line(total)
    for t in tallies:
        for signature, (count, _, example) in sorted(t.failures.items()):
            print(f"\n[{t.name}] {count}x {signature}\n{example}")
    return 1 if total.crashes or total.partial_writes else 0


def _measured() -> str:
    """Which provd this measures: the tree it imports and, there, the commit."""
    import subprocess

    import provd

    tree = Path(provd.__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(tree), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"provd from {tree} at {commit or 'unknown commit'}"


def _line(t: Tally) -> None:
    rate = t.inputs / t.seconds if t.seconds else 0.0
    print(
        f"{t.name:<14} inputs {t.inputs:>9,}  crashes {t.crashes:>6,}  "
        f"partial writes {t.partial_writes:>4,}  {rate:>9,.0f} inputs/s",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
