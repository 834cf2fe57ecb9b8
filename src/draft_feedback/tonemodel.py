"""The learned layer of the tone check: a linear model over hashed word and character n-grams.

Its weights (templates/tone_model.bin) are written by tools/train_tone.py from the corpus in
tests/tone_corpus/ and the sentences of the built-in drafts, with a fixed seed; nothing is
fetched or trained at run time and nothing heavier than the standard library is imported.
A sentence's score for a trap is the sum of the weights of the features it contains, one
detector per trap, each trained to tell that trap from polite text.
"""

from __future__ import annotations

import functools
import math
import re
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from operator import itemgetter
from pathlib import Path

from draft_feedback.patterns import compile_kept
from draft_feedback.resources import builtin_dir

MODEL_FILE = "tone_model.bin"
# The weights follow the header as they are, uncompressed: decompressing them cost each new
# draft 3 ms, and the wheel is compressed anyway.
MAGIC = b"draft-feedback tone model 4"
MAX_BITS = 24  # hashed buckets per trap: 2**bits (the shipped model has far fewer)
CLASSIFY_MEMO = 4096  # sentences whose verdict a model keeps
TRAPS = ("framing", "catastrophizing", "personalizing", "overgeneralizing", "mind-reading",
         "filtering", "should-statements", "all-or-nothing", "comparisons", "grovelling",
         "shouting", "sarcasm")

# What a learned finding says, per trap: (message, suggested rewrite). One kind sentence each,
# in the voice of the rules' messages; each suggestion passes the check itself.
WORDS = {
    "framing": (
        "This sentence seems to look back at the decision or press on it, which can put the "
        "reader on the defensive.",
        "I understand the decision, and I'd be grateful for any thoughts on what I could "
        "strengthen next time."),
    "catastrophizing": (
        "This sentence seems to treat one outcome as the end of everything, which can worry the "
        "reader more than it informs them.",
        "This one was disappointing, and I'd like to learn from it for the next opportunity."),
    "personalizing": (
        "This sentence seems to turn the decision into a verdict on you as a person, which the "
        "reader may feel they have to argue with.",
        "I'd like to understand which parts of my application I could make stronger."),
    "overgeneralizing": (
        "This sentence seems to turn one outcome into a pattern, which reads as a complaint "
        "rather than a question.",
        "I'd value your view on what would make the biggest difference next time."),
    "mind-reading": (
        "This sentence seems to guess what the reader thought or decided, which they may feel "
        "they have to correct.",
        "If you have a moment, I'd be grateful to hear how my application came across."),
    "filtering": (
        "This sentence seems to dwell on one bad part and set the good parts aside, which can "
        "read as disheartened.",
        "I'd be glad to hear what worked well, as well as what I could strengthen."),
    "should-statements": (
        "This sentence seems to say what someone should or should not have done, which can "
        "read as blame.",
        "Looking ahead, which skill would you suggest I work on first?"),
    "all-or-nothing": (
        "This sentence seems to see the outcome in all-or-nothing terms, which can read as "
        "pressure on the reader.",
        "This role mattered to me, and I'd welcome any pointers for similar ones."),
    "comparisons": (
        "This sentence seems to measure you against other people, which the reader cannot "
        "discuss kindly.",
        "What strengths would make an application like mine stand out?"),
    "grovelling": (
        "This sentence seems to apologise or plead more than the request needs, which can make "
        "a reply feel like a burden.",
        "Thank you for considering it; a line or two would be plenty."),
    "shouting": (
        "This sentence seems to raise its voice, with capitals or marks, which reads as anger.",
        "I'd be grateful for any thoughts you're able to share."),
    "sarcasm": (
        "This sentence may read as sarcastic: thanks or praise around a complaint usually "
        "comes across as the complaint.",
        "Thank you for letting me know; I'd be grateful for any feedback you can share."),
}

# --- normalising: the text as people type it, read one way -----------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2032": "'", "`": "'", "\u00b4": "'"})
_REPEATED_LETTER = compile_kept(r"([a-z])\1{2,}")
_REPEATED_MARK = compile_kept(r"([!?.,])\1+")
_MIXED_MARKS = compile_kept(r"[!?]{2,}")
# Contractions typed without an apostrophe, and the usual ones with it, as full words: "shouldve",
# "should've" and "should have" read alike, and "not" is one word whatever way it was typed.
_BARE = {
    "dont": "do not", "didnt": "did not", "doesnt": "does not", "wasnt": "was not",
    "werent": "were not", "isnt": "is not", "arent": "are not", "hasnt": "has not",
    "havent": "have not", "hadnt": "had not", "couldnt": "could not", "shouldnt": "should not",
    "wouldnt": "would not", "mustnt": "must not", "neednt": "need not", "cant": "can not",
    "wont": "will not", "aint": "is not", "shouldve": "should have", "couldve": "could have",
    "wouldve": "would have", "mustve": "must have", "mightve": "might have", "ive": "i have",
    "im": "i am", "youre": "you are", "youve": "you have", "youd": "you would",
    "youll": "you will", "theyre": "they are", "theyve": "they have", "weve": "we have",
    "thats": "that is", "whats": "what is", "theres": "there is", "hes": "he is",
    "shes": "she is", "lets": "let us", "idk": "i do not know", "u": "you", "ur": "your",
    "cannot": "can not", "should of": "should have", "could of": "could have",
    "would of": "would have",
}
_APOSTROPHE = [
    (compile_kept(r"\bcan't\b"), "can not"), (compile_kept(r"\bwon't\b"), "will not"),
    (compile_kept(r"\bshan't\b"), "shall not"), (compile_kept(r"n't\b"), " not"),
    (compile_kept(r"'m\b"), " am"), (compile_kept(r"'re\b"), " are"),
    (compile_kept(r"'ve\b"), " have"),
    (compile_kept(r"'ll\b"), " will"), (compile_kept(r"\bi'd\b"), "i would"),
    (compile_kept(r"'d\b"), " would"), (compile_kept(r"'s\b"), " s"),
]
_BARE_WORD = compile_kept(r"\b(?:" + "|".join(sorted((re.escape(k) for k in _BARE), key=len,
                                                    reverse=True)) + r")\b")
_TOKEN = compile_kept(r"[a-z0-9]+|[!?,;]|\.\.\.")
_CAPS = compile_kept(r"\b[A-Z]{2,}\b")
_LETTERS = compile_kept(r"[A-Za-z]")


def normalise(sentence: str) -> str:
    """Return a sentence lower-cased, with quotes straight and contractions as full words."""
    text = sentence.translate(_QUOTES).lower()
    text = _REPEATED_LETTER.sub(r"\1\1", text)
    text = _MIXED_MARKS.sub(lambda m: "!!" if "!" in m.group() else "??", text)
    text = _REPEATED_MARK.sub(lambda m: "..." if m.group(1) == "." else m.group(1) * 2, text)
    if "'" in text:  # every one of these patterns has an apostrophe, and none writes one
        for pattern, replacement in _APOSTROPHE:
            text = pattern.sub(replacement, text)
    return _BARE_WORD.sub(lambda m: _BARE[m.group()], text)


# --- features ----------------------------------------------------------------------------------

_NEGATION = frozenset({"not", "no", "never", "nothing", "nobody", "none", "neither", "nor",
                       "without", "hardly", "barely"})
_CLAUSE_END = frozenset({"but", "and", "so", "because", "though", "although", "if", "when",
                         "!", "?", "..."})
_NEGATION_REACH = 4

# Word classes: a writer the model never read uses other words for the same move, so each word
# also stands for its class ("utterly" and "totally" are both ABS), and pairs of classes in one
# sentence are features of their own (POS with NEG is how sarcasm tends to read).
_LEXICON_TEXT = {
    "ABS": "always never ever every everyone everybody everything nobody nothing none all "
           "constantly forever anyone anything whole entire entirely totally completely utterly "
           "absolutely literally single again any only",
    "SELF": "failure loser useless worthless stupid idiot pathetic incompetent inadequate "
            "hopeless fraud impostor imposter embarrassing embarrassment ashamed shame mediocre "
            "unworthy fool dumb weak clueless amateur talentless unemployable disappointment "
            "fault blame blew flop deluded naive",
    "CATA": "over ruined ruin ruins destroyed destroy disaster catastrophe catastrophic end ended "
            "finished doomed devastated crushed wrecked nightmare hell die dead death collapse "
            "collapsed broken lost recover career life future shattered gone pointless forever "
            "tragedy unbearable survive",
    "MODAL": "should must ought supposed needed obliged duty owed",
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
    "I": "i me my myself mine",
    "YOU": "you your yourself yours",
    "THEY": "they them their panel committee reviewers reviewer editor editors board company "
            "team hiring manager agent agents publisher publishers recruiter journal "
            "interviewers judges school university firm department management hr he she "
            "his her",
}
_LEXICON = {word: name for name, words in _LEXICON_TEXT.items() for word in words.split()}


def features(sentence: str) -> list[str]:
    """Return the features of one sentence as typed (it is normalised here)."""
    text = normalise(sentence)
    tokens = _TOKEN.findall(text)
    words = [t for t in tokens if t[0].isalnum()]
    out: set[str] = set()
    padded = ["<s>", *words, "</s>"]
    for word in words:
        out.add("w:" + word)
    for i in range(len(padded) - 1):
        out.add(f"b:{padded[i]} {padded[i + 1]}")
    for i in range(len(padded) - 2):
        out.add(f"t:{padded[i]} {padded[i + 1]} {padded[i + 2]}")
    for i in range(len(words) - 2):
        out.add(f"s:{words[i]} _ {words[i + 2]}")
    # Character n-grams over the words joined by single spaces: spelling slips, word endings
    # and short phrases all share them.
    joined = f" {' '.join(words)} "
    for n in (3, 4, 5):
        for j in range(len(joined) - n + 1):
            out.add("c:" + joined[j:j + n])
    # Negation scope: the words after "not", "never" read differently, up to the clause's end.
    reach = 0
    for token in tokens:
        if token in _CLAUSE_END or token in (",", ";"):
            reach = 0
        elif reach:
            out.add("n:" + token)
            reach -= 1
        if token in _NEGATION:
            reach = _NEGATION_REACH
    stripped = text.rstrip()
    if stripped.endswith("?"):
        out.add("q")
        out.update("q:" + w for w in words[:2])
        if len(words) > 1:
            out.add(f"q:{words[0]} {words[1]}")
    for mark in ("!!", "??", "...", "!"):
        if mark in text:
            out.add("m:" + mark)
    capitals = [w for w in _CAPS.findall(sentence) if len(w) >= 2]
    letters = len(_LETTERS.findall(sentence))
    if capitals and not sentence.isupper():
        out.update("C:" + w.lower() for w in capitals)
        out.add(f"caps{min(len(capitals), 3)}")
    elif capitals and letters > 8:
        out.add("allcaps")
    if letters and sentence == sentence.lower():
        out.add("lowercase")
    out.add(f"len{min(len(words) // 4, 8)}")
    classes = sorted({_LEXICON[w] for w in words if w in _LEXICON})
    out.update("L:" + c for c in classes)
    out.update(f"P:{a}+{b}" for i, a in enumerate(classes) for b in classes[i + 1:])
    tagged = [_LEXICON.get(w, "_") for w in words]
    for i in range(len(tagged) - 1):
        if tagged[i] != "_" and tagged[i + 1] != "_":
            out.add(f"T:{tagged[i]} {tagged[i + 1]}")
        if tagged[i] != "_":
            out.add(f"TW:{tagged[i]} {words[i + 1]}")
        if tagged[i + 1] != "_":
            out.add(f"WT:{words[i]} {tagged[i + 1]}")
    return sorted(out)


def buckets(sentence: str, bits: int) -> list[int]:
    """Return the hashed bucket of every feature of a sentence (crc32: the same everywhere).

    The same as `sorted({zlib.crc32(f.encode()) & mask for f in features(sentence)})`, as
    tools/train_tone.py hashes them, without building the feature strings.
    """
    mask = (1 << bits) - 1
    return sorted({crc & mask for crc in _hashes(sentence)})


# --- the same features, hashed as they are found -----------------------------------------------
#
# features() spells every feature out; scoring only needs their crc32s. crc32(prefix + rest)
# equals crc32(rest, crc32(prefix)), so each kind's prefix is hashed once here, and the words
# and character n-grams are hashed as bytes without building a string per feature. Every
# feature is ASCII: the tokens are [a-z0-9] runs and marks, the capitals [A-Z] runs. The tests
# compare the two definitions on every corpus sentence and on generated text.

_crc32 = zlib.crc32


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


_W, _B, _T, _S, _N = (_crc(prefix) for prefix in ("w:", "b:", "t:", "s:", "n:"))
_CHARS = _crc("c:")
_QUESTION, _QUESTION_WORD, _CAPITAL = _crc("q"), _crc("q:"), _crc("C:")
_MARKS = tuple((mark, _crc("m:" + mark)) for mark in ("!!", "??", "...", "!"))
_CAPS_COUNT = {n: _crc(f"caps{n}") for n in (1, 2, 3)}
_ALLCAPS, _LOWERCASE = _crc("allcaps"), _crc("lowercase")
_LENGTH = {n: _crc(f"len{n}") for n in range(9)}
_CLASS = {name: _crc("L:" + name) for name in _LEXICON_TEXT}
_CLASS_PAIR = {(a, b): _crc(f"P:{a}+{b}") for a in _LEXICON_TEXT for b in _LEXICON_TEXT if a < b}
_TAG_PAIR = {(a, b): _crc(f"T:{a} {b}") for a in _LEXICON_TEXT for b in _LEXICON_TEXT}
_TAG_WORD = {name: _crc(f"TW:{name} ") for name in _LEXICON_TEXT}
_WORD_TAG = _crc("WT:")
_SPACED_TAG = {name: f" {name}".encode() for name in _LEXICON_TEXT}
# Character n-grams are cut by struct, a run of up to this many n-grams of one size per call.
_RUN = 64


@functools.cache
def _cutter(n: int, count: int) -> struct.Struct:
    """Cut `count` back-to-back n-byte strings (at most 3 * _RUN of these are ever made)."""
    return struct.Struct(f"{n}s" * count)


def _hashes(sentence: str) -> list[int]:
    """Return the crc32 of every feature of a sentence (some more than once): features() hashed."""
    text = normalise(sentence)
    tokens = _TOKEN.findall(text)
    words = [t for t in tokens if t[0].isalnum()]
    joined = f" {' '.join(words)} ".encode()
    raw = joined.split()
    padded = [b"<s>", *raw, b"</s>"]
    crc32 = _crc32
    out = list(map(crc32, raw, repeat(_W)))
    out.extend(map(crc32, map(b" ".join, pairwise(padded)), repeat(_B)))
    triples = zip(padded, padded[1:], padded[2:], strict=False)
    out.extend(map(crc32, map(b" ".join, triples), repeat(_T)))
    out.extend(map(crc32, map(b" _ ".join, zip(raw, raw[2:], strict=False)), repeat(_S)))
    # Character n-grams: for each size n and each start offset, the back-to-back n-grams.
    size = len(joined)
    grams: list[bytes] = []
    for n in (3, 4, 5):
        for start in range(n):
            count = (size - start) // n
            while count > 0:
                run = min(count, _RUN)
                grams += _cutter(n, run).unpack_from(joined, start)
                start += run * n
                count -= run
    out.extend(map(crc32, grams, repeat(_CHARS)))
    reach = 0
    for token in tokens:
        if token in _CLAUSE_END or token in (",", ";"):
            reach = 0
        elif reach:
            out.append(crc32(token.encode(), _N))
            reach -= 1
        if token in _NEGATION:
            reach = _NEGATION_REACH
    if text.rstrip().endswith("?"):
        out.append(_QUESTION)
        out.extend(map(crc32, raw[:2], repeat(_QUESTION_WORD)))
        if len(raw) > 1:
            out.append(crc32(raw[0] + b" " + raw[1], _QUESTION_WORD))
    out.extend(crc for mark, crc in _MARKS if mark in text)
    capitals = [w for w in _CAPS.findall(sentence) if len(w) >= 2]
    if capitals and not sentence.isupper():
        out.extend(crc32(w.lower().encode(), _CAPITAL) for w in capitals)
        out.append(_CAPS_COUNT[min(len(capitals), 3)])
    elif capitals and len(_LETTERS.findall(sentence)) > 8:
        out.append(_ALLCAPS)
    if sentence == sentence.lower() and _LETTERS.search(sentence):
        out.append(_LOWERCASE)
    out.append(_LENGTH[min(len(words) // 4, 8)])
    tagged = list(map(_LEXICON.get, words, repeat("_")))
    classes = sorted(set(tagged) - {"_"})
    out.extend(map(_CLASS.__getitem__, classes))
    out.extend(_CLASS_PAIR[a, b] for i, a in enumerate(classes) for b in classes[i + 1:])
    for i in range(len(tagged) - 1):
        left, right = tagged[i], tagged[i + 1]
        if left != "_":
            out.append(crc32(raw[i + 1], _TAG_WORD[left]))
            if right != "_":
                out.append(_TAG_PAIR[left, right])
        if right != "_":
            out.append(crc32(_SPACED_TAG[right], crc32(raw[i], _WORD_TAG)))
    return out


# --- the shipped weights -----------------------------------------------------------------------

# An int8 weight read as a byte -> that weight + 128, so packed rows (Model._pack) have no sign.
_UNSIGNED = bytes((byte + 128) & 0xFF for byte in range(256))


@dataclass(frozen=True)
class Model:
    """One detector per trap (that trap against polite text): int8 weights, a threshold each."""

    bits: int
    scale: float
    bias: tuple[float, ...]
    weights: array  # len(TRAPS) int8 per bucket, bucket by bucket
    # A sentence is flagged for a trap when that trap's score reaches its threshold.
    thresholds: tuple[float, ...]
    # Each bucket's row of weights packed into one int (see _pack), 0 until a sentence has it.
    _rows: list[int] = field(init=False, repr=False, compare=False)
    # classify() by sentence text, the latest CLASSIFY_MEMO sentences.
    _memo: Callable[[str], str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", [0] * (1 << self.bits))
        object.__setattr__(self, "_memo",
                           functools.lru_cache(maxsize=CLASSIFY_MEMO)(self._classify))

    def scores(self, sentence: str) -> list[float]:
        """Return each trap's score (a log-odds against polite) for one sentence as typed."""
        mask = (1 << self.bits) - 1
        found = {crc & mask for crc in _hashes(sentence)}
        if not found:
            return list(self.bias)
        factor = self.scale / math.sqrt(len(found))
        return [bias + factor * total
                for bias, total in zip(self.bias, self._totals(found), strict=True)]

    def _lane(self) -> int:
        """Bits per trap in a packed row: room for 255 times every bucket, with no carry."""
        return 8 * (1 + (self.bits + 7) // 8)

    def _totals(self, found: set[int]) -> list[int]:
        """Each trap's sum of the weights of the buckets found: the same integers as adding
        them one by one, in one addition of packed rows per bucket."""
        rows = self._rows
        if len(found) == 1:
            [bucket] = found
            if not rows[bucket]:
                self._pack(found)
            packed = rows[bucket]
        else:
            get = itemgetter(*found)
            got = get(rows)
            if not all(got):
                self._pack([bucket for bucket, row in zip(found, got, strict=True) if not row])
                got = get(rows)
            packed = sum(got)
        lane = self._lane()
        mask = (1 << lane) - 1
        offset = 128 * len(found)
        totals = []
        for _ in TRAPS:
            totals.append((packed & mask) - offset)
            packed >>= lane
        return totals

    def _pack(self, found: Iterable[int]) -> None:
        """Keep each bucket's row of weights as one int: trap i's weight + 128 in lane i.

        A lane holds the sum of up to 2**bits values from 0 to 255 without reaching the next.
        A packed row is 0 only when every weight is -128 (quantising never writes it); such a
        row is packed again whenever it is met, and still adds up right.
        """
        width = len(TRAPS)
        step = self._lane() // 8
        order = list(found)
        weights = self.weights
        data = b"".join([weights[b * width:(b + 1) * width] for b in order]).translate(_UNSIGNED)
        wide = bytearray(len(data) * step)
        wide[::step] = data
        size = width * step
        rows = self._rows
        for bucket, start in zip(order, range(0, len(wide), size), strict=True):
            rows[bucket] = int.from_bytes(wide[start:start + size], "little")

    def classify(self, sentence: str) -> str | None:
        """Return the trap a sentence reads as most clearly, or None if it reads as polite.

        The verdict depends on the sentence alone, and a draft checked again after an edit, or
        many drafts from the same templates, share most of their sentences: the latest
        CLASSIFY_MEMO verdicts are kept, per model.
        """
        return self._memo(sentence)

    def _classify(self, sentence: str) -> str | None:
        margins = [score - threshold for score, threshold
                   in zip(self.scores(sentence), self.thresholds, strict=True)]
        best = max(range(len(TRAPS)), key=margins.__getitem__)
        return TRAPS[best] if margins[best] >= 0 else None


def model_path() -> Path:
    """Return the path of the shipped weights."""
    return builtin_dir() / MODEL_FILE


@functools.lru_cache(maxsize=1)
def load(path: Path | None = None) -> Model:
    """Read the shipped weights once per process.

    The weights are read straight into their array, not through a copy of the file: they are
    most of the 0.8 MB, and every new draft reads them.
    """
    path = path or model_path()
    with path.open("rb") as handle:
        header = [handle.readline(4096).rstrip(b"\n") for _ in range(4)]
        if header[0] != MAGIC:
            raise ValueError(f"{path}: not a tone model file")
        try:
            bits_text, scale_text = header[1].split()
            bits, scale = int(bits_text), float(scale_text)
            bias = tuple(float(v) for v in header[2].split())
            thresholds = tuple(float(v) for v in header[3].split())
            if not 0 < bits <= MAX_BITS:
                raise ValueError(bits)
            weights = array("b")
            weights.fromfile(handle, (1 << bits) * len(TRAPS))
        except (ValueError, EOFError, OverflowError, MemoryError):
            raise ValueError(f"{path}: the weights do not match the header") from None
        if handle.read(1) or not len(bias) == len(thresholds) == len(TRAPS):
            raise ValueError(f"{path}: the weights do not match the header")
    return Model(bits, scale, bias, weights, thresholds)


def dump(model: Model, path: Path) -> None:
    """Write a model in the format load() reads (tools/train_tone.py uses it)."""
    parts = [MAGIC, f"{model.bits} {model.scale!r}".encode(),
             " ".join(repr(v) for v in model.bias).encode(),
             " ".join(repr(v) for v in model.thresholds).encode()]
    path.write_bytes(b"\n".join(parts) + b"\n" + model.weights.tobytes())
