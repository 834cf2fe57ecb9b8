"""The text as the tone check reads it: normalised, with a map back to the original."""

from __future__ import annotations

import bisect
import re

# Phones and word processors turn quotes curly; the rules are written with straight ones.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u02bc": "'", "\u2032": "'", "`": "'"})
_SENTENCE_END = re.compile(r"[.?!\n]")
# Contractions typed without the apostrophe ("didnt", "im", "shouldve"): the apostrophe goes
# where the lookahead starts. Words that are also ordinary words ("its", "were", "ill", "id",
# "wed", "hell", "shell") are left alone.
_BARE_CONTRACTION = re.compile(
    r"\b(?:(?:did|does|do|was|were|is|are|has|have|had|could|should|would|must|need|might"
    r"|ca|wo|ai)(?=nt\b)"
    r"|(?:should|could|would|must|might|i|you|they|we|who)(?=ve\b)"
    r"|i(?=m\b)|(?:you|they)(?=re\b)|(?:you|they|she|he|it|that|there)(?=ll\b)"
    r"|(?:you|they)(?=d\b)"
    r"|(?:that|what|there|who|here|where|everyone|nobody|noone|nothing|let)(?=s\b))",
    re.IGNORECASE,
)
# Three or more of one letter ("sooo", "pleeease") are read as one; two stay ("too", "good").
_ELONGATED = re.compile(r"([A-Za-z])\1{2,}")
# Three or more of one mark ("!!!!", "????") are read as two: still loud, one shape to match.
_REPEATED_MARK = re.compile(r"([!?,])\1{2,}")


class Text:
    """The text as the rules read it, with a map back to lines and columns of the original."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", original)]
        chars: list[str] = []
        where: list[int] = []
        pending = ""  # separator owed before the next kept character: "", " " or "\n"
        pending_at = 0
        for number, start in enumerate(self.line_starts):
            end = self.line_starts[number + 1] - 1 if number + 1 < len(self.line_starts) else None
            line = original[start:end].rstrip("\r")
            stripped = line.strip()
            # Quoted lines are the other person's words; a blank line ends a paragraph.
            if not stripped or stripped.startswith(">"):
                if chars:
                    pending, pending_at = "\n", start
                continue
            for offset, char in enumerate(line):
                if char.isspace():
                    if chars and not pending:
                        pending, pending_at = " ", start + offset
                    continue
                if pending:
                    chars.append(pending)
                    where.append(pending_at)
                    pending = ""
                chars.append(char)
                where.append(start + offset)
            if chars and not pending:
                # Within a paragraph a line break is just a space: wrapped phrases still match.
                pending, pending_at = " ", start + len(line)
        self.text, self.where = normalise("".join(chars).translate(_QUOTES), where)
        # Where sentences end, found once: looking them up per match stays fast on long texts.
        self.ends = [m.start() for m in _SENTENCE_END.finditer(self.text)]

    def position(self, index: int) -> tuple[int, int]:
        """Return the 1-based line and column of a character of the read text."""
        offset = self.where[index] if index < len(self.where) else len(self.original)
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def excerpt(self, start: int, end: int, limit: int) -> str:
        """Return the original wording of a span, on one line and trimmed to `limit` chars."""
        if end <= start:
            return ""
        raw = self.original[self.where[start]:self.where[end - 1] + 1]
        text = " ".join(line.lstrip(">").strip() for line in raw.splitlines())
        text = " ".join(text.split())
        if len(text) > limit:
            text = text[:limit - 3].rstrip() + "..."
        return text

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """Return the bounds of the sentence around a span, with its closing punctuation."""
        before = bisect.bisect_left(self.ends, start)
        left = self.ends[before - 1] + 1 if before else 0
        while left < start and self.text[left].isspace():
            left += 1
        after = bisect.bisect_left(self.ends, end)
        if after == len(self.ends):
            return left, len(self.text)
        # "?!" and "..." close one sentence, not two or three.
        while (after + 1 < len(self.ends) and self.ends[after + 1] == self.ends[after] + 1
               and "\n" not in self.text[self.ends[after]:self.ends[after] + 2]):
            after += 1
        stop = self.ends[after]
        return left, stop if self.text[stop] == "\n" else stop + 1

    def sentences(self) -> list[tuple[int, int]]:
        """Return the bounds of every sentence with a letter or digit in it, in order."""
        spans: list[tuple[int, int]] = []
        position = 0
        while position < len(self.text):
            left, right = self.sentence(position, position)
            if any(char.isalnum() for char in self.text[left:right]):
                spans.append((left, right))
            position = max(right, position + 1)
        return spans


def normalise(text: str, where: list[int]) -> tuple[str, list[int]]:
    """Restore bare contractions, shorten elongated letters and repeated marks, keeping the map.

    Case is kept (shouting is read from it); every rule and the learned layer read the text
    without regard to case, so "i dont" and "I don't" are the same words to them.
    """
    text, where = _edit(text, where, _ELONGATED, keep=1)
    text, where = _edit(text, where, _REPEATED_MARK, keep=2)
    return _apostrophes(text, where)


def _edit(text: str, where: list[int], pattern: re.Pattern[str],
          keep: int) -> tuple[str, list[int]]:
    """Keep only the first `keep` characters of every match of `pattern`."""
    parts: list[str] = []
    mapped: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        cut = match.start() + keep
        parts.append(text[last:cut])
        mapped.extend(where[last:cut])
        last = match.end()
    if not parts:
        return text, where
    parts.append(text[last:])
    mapped.extend(where[last:])
    return "".join(parts), mapped


def _apostrophes(text: str, where: list[int]) -> tuple[str, list[int]]:
    """Put the apostrophe back into bare contractions, keeping the map to the original."""
    parts: list[str] = []
    mapped: list[int] = []
    last = 0
    for match in _BARE_CONTRACTION.finditer(text):
        # "didnt" -> "didn't": the apostrophe goes before the t; "im" -> "i'm": after the head.
        cut = match.end() + 1 if text[match.end():match.end() + 2].lower() == "nt" else match.end()
        parts.append(text[last:cut])
        mapped.extend(where[last:cut])
        parts.append("'")
        mapped.append(where[cut])
        last = cut
    if not parts:
        return text, where
    parts.append(text[last:])
    mapped.extend(where[last:])
    return "".join(parts), mapped


def normalised(sentence: str) -> str:
    """Return one sentence as the check reads it (for the learned layer and its training)."""
    text = " ".join(sentence.split()).translate(_QUOTES)
    return normalise(text, list(range(len(text))))[0]
