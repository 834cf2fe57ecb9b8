"""Measure the tone check on writers it was not trained on.

    python tools/eval_tone.py                 leave one writer out: for each writer in
                                              tests/tone_corpus/, train on the other six
                                              (thresholds chosen inside those six alone),
                                              measure on the one left out; print the table
    python tools/eval_tone.py --misses        the same, listing what each fold missed
    python tools/eval_tone.py --frozen FILE.. score corpus files (same YAML format) with the
                                              shipped weights and rules, exactly as `check` does

Recall is "any finding" (a rule or the learned layer) on hurtful sentences; false errors and
false warnings are shares of polite sentences, hard negatives included, whose worst finding is
an error or a warning. Plain Python; two folds run at a time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_tone as t  # noqa: E402
from train_tone import TRAPS, Sample  # noqa: E402

GOAL_RECALL, GOAL_TRAP, GOAL_ERRORS, GOAL_WARNINGS = 0.85, 0.70, 0.01, 0.05


@dataclass
class Figures:
    """One writer's figures."""

    writer: str
    recall: float
    traps: dict[str, float]
    false_errors: float
    false_warnings: float
    hard_flagged: float
    hurtful: int
    polite: int


def figures(writer: str, judged: Sequence[tuple[Sample, str | None]]) -> Figures:
    """Summarise (sample, worst severity or None) pairs."""
    hurtful = [(s, v) for s, v in judged if s.kind == "hurtful"]
    polite = [(s, v) for s, v in judged if s.kind != "hurtful"]
    hard = [(s, v) for s, v in polite if s.kind == "hard_negative"]
    traps = {}
    for trap in TRAPS:
        items = [v for s, v in hurtful if s.label == trap]
        if items:
            traps[trap] = sum(v is not None for v in items) / len(items)
    return Figures(writer, sum(v is not None for _, v in hurtful) / max(len(hurtful), 1), traps,
                   sum(v == "error" for _, v in polite) / max(len(polite), 1),
                   sum(v == "warning" for _, v in polite) / max(len(polite), 1),
                   sum(v is not None for _, v in hard) / max(len(hard), 1),
                   len(hurtful), len(polite))


def table(rows: Sequence[Figures]) -> str:
    """A Markdown table: one column per writer, then the mean and the worst writer."""
    head = ["", *(f.writer for f in rows), "mean", "worst"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]

    def line(name: str, values: list[float], worst_is_max: bool = False) -> None:
        worst = max(values) if worst_is_max else min(values)
        cells = [f"{v:.1%}" for v in values]
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {sum(values) / len(values):.1%} | {worst:.1%} |")

    line("recall (any finding)", [f.recall for f in rows])
    for trap in TRAPS:
        if all(trap in f.traps for f in rows):
            line(trap, [f.traps[trap] for f in rows])
    line("polite: false errors", [f.false_errors for f in rows], True)
    line("polite: false warnings", [f.false_warnings for f in rows], True)
    line("hard negatives flagged", [f.hard_flagged for f in rows], True)
    return "\n".join(lines)


def goals(rows: Sequence[Figures]) -> str:
    """Which goals the worst writer meets."""
    checks = [
        ("recall >= 85% (mean)", sum(f.recall for f in rows) / len(rows) >= GOAL_RECALL),
        ("recall >= 85% (worst writer)", min(f.recall for f in rows) >= GOAL_RECALL),
        ("every trap >= 70% (mean)", all(sum(f.traps[k] for f in rows) / len(rows) >= GOAL_TRAP
                                         for k in rows[0].traps)),
        ("every trap >= 70% (worst writer)", all(min(f.traps[k] for f in rows) >= GOAL_TRAP
                                                 for k in rows[0].traps)),
        ("false errors <= 1% (worst writer)", max(f.false_errors for f in rows) <= GOAL_ERRORS),
        ("false warnings <= 5% (worst writer)",
         max(f.false_warnings for f in rows) <= GOAL_WARNINGS),
    ]
    return "\n".join(f"{'met' if ok else 'NOT met'}: {name}" for name, ok in checks)


def verdict(scored: t.Scored, thresholds: Sequence[float]) -> str | None:
    """The worst severity check() reports for a sample: the rules', else the model's warning."""
    if scored.rule:
        return scored.rule
    return "warning" if scored.flagged(thresholds) else None


def fold(args: tuple[str, dict[str, list[Sample]], list[Sample]]) -> tuple[str, list[tuple[
        Sample, str | None, str]], tuple[float, ...]]:
    """Train on every writer but one and judge that one's sentences."""
    held, writers, drafts = args
    training = {w: ss for w, ss in writers.items() if w != held}
    model, thresholds = t.fit(training, drafts, log=lambda _: None)
    verdicts = t.verdicts_for(writers[held])
    scored = t.score_samples(model, writers[held], verdicts)
    judged = []
    for s in scored:
        trap, margin = s.trap(thresholds)
        judged.append((s.sample, verdict(s, thresholds), f"{trap} {margin:+.2f}"))
    draft_scored = t.score_samples(model, drafts, t.verdicts_for(drafts))
    flagged = [s.sample.text for s in draft_scored if s.flagged(thresholds)]
    judged += [(Sample("drafts", x, "polite", "draft"), "warning", "") for x in flagged]
    return held, judged, thresholds


def crossval(misses: bool) -> None:
    """Leave each writer out in turn and print the table."""
    writers = t.corpus()
    drafts = t.draft_sentences()
    jobs = [(w, writers, drafts) for w in writers]
    with multiprocessing.Pool(2) as pool:
        results = pool.map(fold, jobs)
    rows = []
    for held, judged, thresholds in results:
        corpus_judged = [(s, v) for s, v, _ in judged if s.kind != "draft"]
        rows.append(figures(held, corpus_judged))
        drafts_flagged = [s.text for s, _, _ in judged if s.kind == "draft"]
        print(f"{held}: thresholds " + " ".join(f"{v:.2f}" for v in thresholds)
              + f"; built-in draft sentences flagged: {len(drafts_flagged)}")
        for text in drafts_flagged[:5]:
            print(f"  draft flagged: {text}")
        if misses:
            for s, v, why in judged:
                if s.kind == "hurtful" and v is None:
                    print(f"  miss [{s.label}] ({why}) {s.text}")
                elif s.kind in ("ordinary", "hard_negative") and v is not None:
                    print(f"  false {v} [{s.kind}] ({why}) {s.text}")
    print(table(rows))
    print(goals(rows))


def frozen(paths: Sequence[Path], misses: bool) -> None:
    """Score corpus files with the shipped rules and weights, as `check` does: one column each."""
    from draft_feedback import tone

    trained = {s.text for ss in t.corpus().values() for s in ss}
    rows = []
    for path in paths:
        samples = t.load_file(path)
        judged = []
        for s in samples:
            findings = [f for f in tone.check(s.text) if f.trap != "length"]
            worst = ("error" if any(f.severity == "error" for f in findings)
                     else "warning" if findings else None)
            judged.append((s, worst))
            if misses and (worst is None) == (s.kind == "hurtful"):
                print(f"  {'miss' if worst is None else 'false ' + worst} [{s.label}/{s.kind}] "
                      f"{s.text}")
        rows.append(figures(samples[0].writer, judged))
        seen = sum(s.text in trained for s in samples)
        if seen:
            print(f"note: {seen} of the {len(samples)} sentences of {path} are in "
                  "tests/tone_corpus/, which the shipped weights were trained on; figures on "
                  "them flatter the check")
    print(table(rows))
    print(goals(rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frozen", metavar="FILE", type=Path, nargs="+",
                        help="score these corpus files with the shipped weights instead")
    parser.add_argument("--misses", action="store_true", help="list misses and false findings")
    args = parser.parse_args(argv)
    if args.frozen:
        frozen(args.frozen, args.misses)
    else:
        crossval(args.misses)


if __name__ == "__main__":
    main()
