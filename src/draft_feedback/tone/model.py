"""The learned layer: a linear model over hashed word and character n-grams, in plain Python.

The weights (model.bin, next to this file) come from tools/tone_model.py with a fixed seed;
nothing is fetched or trained at run time. A sentence's score is a sum of the weights of the
features it contains, one softmax over "polite" and the twelve traps.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("model.bin")
MAGIC = b"draft-feedback tone model 1"
POLITE = "polite"

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")
_CAPS = re.compile(r"\b[A-Z]{2,}\b")
_NEGATION = frozenset({"not", "no", "never", "nothing", "nobody", "none", "cannot", "neither",
                       "nor", "without", "hardly", "barely"})
_NEGATION_REACH = 3

# Word classes: a writer the model never read uses other words for the same move, so each word
# also stands for its class ("utterly" and "totally" are both ABS), and pairs of classes in one
# sentence are features of their own (POS with NEGEVAL is how sarcasm tends to read).
_LEXICON_TEXT = {
    "ABS": "always never ever every everyone everybody everything nobody noone nothing none all "
           "constantly forever anyone anything whole entire entirely totally completely utterly "
           "absolutely literally single again any",
    "SELF": "failure loser useless worthless stupid idiot pathetic incompetent inadequate "
            "hopeless fraud impostor imposter embarrassing embarrassment ashamed shame mediocre "
            "unworthy fool dumb weak clueless amateur talentless unemployable disappointment "
            "fault blame blew flop deluded naive",
    "CATA": "over ruined ruin ruins destroyed destroy disaster catastrophe catastrophic end ended "
            "finished doomed devastated crushed wrecked nightmare hell die dead death collapse "
            "collapsed broken lost recover career life future shattered gone pointless forever "
            "tragedy unbearable nightmare survive abyss",
    "MODAL": "should shouldn't should've must mustn't must've ought supposed needed obliged "
             "duty owed",
    "MIND": "obviously clearly evidently probably decided already mind thought felt believe "
            "knew know tell sensed sure assumed judged pegged saw seemed wanted liked disliked "
            "impression vibe read glance minute minds favourite favorite",
    "COMP": "than others other else colleague colleagues peers peer cohort classmates "
            "candidates candidate someone whoever younger less more better worse half twice "
            "junior juniors rival rivals friends everyone",
    "NEG": "wasted wasting waste ignored ignore ignoring rude insulting cold ridiculous absurd "
           "joke disgrace disgraceful shambles farce arrogant lazy biased unfair rigged blind "
           "incompetence nonsense insult insulted garbage rubbish pointless sham careless "
           "patronising patronizing condescending",
    "POS": "thanks thank wonderful great lovely brilliant fantastic amazing excellent congrats "
           "congratulations delighted appreciate appreciated enjoyed impressive perfect nice "
           "glad splendid marvellous superb genius stellar love loved generous honour honor "
           "thrilled riveting fascinating cheers kind",
    "IRONY": "sure clearly obviously apparently wow oh lol cheers course guess bet noted worries "
             "totally definitely evidently surely shocker shocking surprise",
    "APOL": "sorry apologise apologize apologies apologising apologizing forgive pardon beg "
            "begging bother bothering trouble troubling burden humbly intrude intruding "
            "undeserving nuisance grovel",
    "FILT": "only just focus matters matter count counts dwell despite but however though "
            "still anyway positives praise compliments criticism negative negatives nice kind "
            "comments point",
    "EFFORT": "weeks months years hours days time effort work spent evenings weekends nights "
              "sacrificed sacrifice",
    "I": "i me my myself i'm i've i'd i'll mine",
    "YOU": "you your you're yourself you've you'd you'll yours",
    "THEY": "they them their panel committee reviewers reviewer editor editors board company "
            "team hiring manager agent agents publisher publishers recruiter journal "
            "interviewers judges school university firm department management hr he she "
            "his her",
}
_LEXICON = {word: name for name, words in _LEXICON_TEXT.items() for word in words.split()}


@dataclass(frozen=True)
class Model:
    """The shipped weights: classes, one bias and one int8 row per hashed bucket, a threshold."""

    classes: tuple[str, ...]
    buckets: int
    bias: tuple[float, ...]
    scale: tuple[float, ...]
    weights: array
    # A sentence is flagged when the probability that it is polite falls below this.
    threshold: float

    def probabilities(self, sentence: str) -> list[float]:
        """Return the probability of each class for one normalised sentence."""
        width = len(self.classes)
        weights = self.weights
        rows = [weights[b * width:(b + 1) * width] for b in buckets(sentence, self.buckets)]
        sums = [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * width
        # Features are binary and the vector is scaled to unit length: long and short
        # sentences score on one scale.
        norm = 1 / math.sqrt(len(rows)) if rows else 0.0
        logits = [b + s * k * norm for b, s, k in zip(self.bias, sums, self.scale, strict=True)]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def classify(self, sentence: str) -> tuple[str, float] | None:
        """Return (trap, probability) when the sentence reads as hurtful, else None."""
        probs = self.probabilities(sentence)
        polite = probs[self.classes.index(POLITE)]
        if polite >= self.threshold:
            return None
        trap, p = max(((c, p) for c, p in zip(self.classes, probs, strict=True) if c != POLITE),
                      key=lambda item: item[1])
        return trap, p


def features(sentence: str) -> set[str]:
    """Return the features of one normalised sentence (see reading.normalised)."""
    lower = sentence.lower()
    tokens = _TOKEN.findall(lower)
    words = [t for t in tokens if t not in ("!", "?")]
    out: set[str] = set()
    padded = ["<s>", *words, "</s>"]
    for i, word in enumerate(words):
        out.add("w:" + word)
        if len(word) > 2:
            marked = f"<{word}>"
            for n in (3, 4, 5):
                for j in range(len(marked) - n + 1):
                    out.add("c:" + marked[j:j + n])
    for i in range(len(padded) - 1):
        out.add(f"b:{padded[i]} {padded[i + 1]}")
    for i in range(len(padded) - 2):
        out.add(f"t:{padded[i]} {padded[i + 1]} {padded[i + 2]}")
    # Negation scope: the words just after "not", "never", "n't" read differently.
    reach = 0
    for word in words:
        if reach:
            out.add("n:" + word)
            reach -= 1
        if word in _NEGATION or word.endswith("n't"):
            reach = _NEGATION_REACH
    stripped = sentence.rstrip()
    if stripped.endswith("?") or stripped.endswith("?!") or stripped.endswith("!?"):
        out.add("q")
        out.update("q:" + w for w in words[:2])
        if len(words) > 1:
            out.add(f"q:{words[0]} {words[1]}")
    if "!!" in sentence:
        out.add("!!")
    if "?!" in sentence or "!?" in sentence:
        out.add("?!")
    if "..." in sentence:
        out.add("...")
    capitals = [w for w in _CAPS.findall(sentence) if len(w) >= 2]
    if capitals and not sentence.isupper():
        out.update("C:" + w.lower() for w in capitals)
        out.add(f"caps{min(len(capitals), 3)}")
    elif capitals:
        out.add("allcaps")
    out.add(f"len{min(len(words) // 5, 6)}")
    classes = sorted({_LEXICON[w] for w in words if w in _LEXICON})
    out.update("L:" + c for c in classes)
    out.update(f"P:{a}+{b}" for i, a in enumerate(classes) for b in classes[i + 1:])
    tagged = [_LEXICON.get(w, "_") for w in words]
    for i in range(len(tagged) - 1):
        if tagged[i] != "_" and tagged[i + 1] != "_":
            out.add(f"T:{tagged[i]} {tagged[i + 1]}")
        if tagged[i] != "_":
            out.add(f"TW:{tagged[i]} {words[i + 1]}")
    return out


def buckets(sentence: str, size: int) -> list[int]:
    """Return the hashed bucket of every feature of a sentence (crc32: stable everywhere)."""
    mask = size - 1
    return sorted({zlib.crc32(f.encode()) & mask for f in features(sentence)})


@functools.lru_cache(maxsize=1)
def load(path: Path = MODEL_FILE) -> Model:
    """Read the shipped weights once per process."""
    data = path.read_bytes()
    lines = data.split(b"\n", 5)
    if len(lines) != 6 or lines[0] != MAGIC:
        raise ValueError(f"{path}: not a tone model file")
    classes = tuple(lines[1].decode().split())
    size_text, threshold_text = lines[2].decode().split()
    bias = tuple(float(v) for v in lines[3].split())
    scale = tuple(float(v) for v in lines[4].split())
    weights = array("b")
    weights.frombytes(zlib.decompress(lines[5]))
    size = int(size_text)
    if len(weights) != size * len(classes) or len(bias) != len(classes) != len(scale):
        raise ValueError(f"{path}: weights do not match the header")
    return Model(classes, size, bias, scale, weights, float(threshold_text))


def dump(model: Model, path: Path) -> None:
    """Write a model in the format load() reads (used by tools/tone_model.py)."""
    header = b"\n".join([
        MAGIC,
        " ".join(model.classes).encode(),
        f"{model.buckets} {model.threshold!r}".encode(),
        " ".join(repr(v) for v in model.bias).encode(),
        " ".join(repr(v) for v in model.scale).encode(),
    ])
    path.write_bytes(header + b"\n" + zlib.compress(model.weights.tobytes(), 9))
