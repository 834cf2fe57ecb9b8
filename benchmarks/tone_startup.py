"""What the tone check adds to the start-up of `new`: import + check of a 120-word draft.

    python benchmarks/tone_startup.py [--runs N]

Each run is a fresh interpreter that first imports what `new` imports anyway (the command
line, config, drafting and the outbox), then times importing the tone check and checking a
120-word draft: the rules (from the compiled-pattern cache after the first run) and the
learned layer (its weights read from the package). Prints the median of the runs, with the
cache warm, and one run with the cache emptied.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import time
import draft_feedback.cli, draft_feedback.workflow, draft_feedback.drafting
import draft_feedback.config, draft_feedback.outbox, yaml, platformdirs
DRAFT = ("Dear Priya, thank you for your time and for the chance to interview for the Data "
         "Analyst role at Acme. I especially enjoyed the case study and meeting the team. I "
         "understand the decision, and I'm grateful you let me know. I'd like to grow from "
         "this, so if you have a few minutes, I'd be grateful for your thoughts on two things. "
         "How could I make my answers to the SQL questions stronger? Which skill would make the "
         "biggest difference for a role like this? A line or two would be plenty, and if things "
         "are busy, there's no need to reply. I'd love to be considered when a suitable role "
         "comes up. Best wishes, Alex")
start = time.perf_counter()
from draft_feedback import tone
findings = tone.check(DRAFT)
print((time.perf_counter() - start) * 1000, len(DRAFT.split()), len(findings))
"""


def once(env: dict[str, str]) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        cold, words, findings = once(env)
        warm = [once(env)[0] for _ in range(args.runs)]
    print(f"draft: {words} words, {findings} findings")
    print(f"tone import + check, cache warm: median {statistics.median(warm):.1f} ms "
          f"(min {min(warm):.1f}, max {max(warm):.1f}, {args.runs} runs)")
    print(f"tone import + check, cache empty (first run only): {cold:.1f} ms")


if __name__ == "__main__":
    main()
