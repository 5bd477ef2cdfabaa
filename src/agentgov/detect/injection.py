"""Prompt injection in tool results: text a tool returns that tries to give the agent orders.

The detector is a weighted checklist, so that every finding explains itself. Each :class:`Signal` is a
phrase family in English and Chinese (an instruction override, a fake system turn, a message addressed
to the model, a request to use a tool); a text's score is the sum of the weights of the distinct
signals it shows, and a score at or over the threshold makes one finding that lists them. One strong
signal ("ignore previous instructions") is enough; a weak one ("please send ... to") never is, because
ordinary e-mails say it all the time. Hidden text counts too: invisible characters are removed and
Unicode tag characters read as the ASCII they smuggle before the phrases are matched, and an HTML
comment that speaks to the model is a signal of its own.

It is a first line, not a proof: paraphrases it has no phrase for pass, and the guard still taints
whatever the agent does after reading untrusted output (see DESIGN.md, "One tool call, end to end").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentgov.detect.hidden import Hit, Revealed, comments, reveal
from agentgov.detect.injection_signals import SIGNALS, Phrase, Signal
from agentgov.detect.model import EXCERPT_MAX, Finding, Severity, Where
from agentgov.detect.text import TextViews
from agentgov.errors import InvalidInput

__all__ = ["InjectionDetector", "InjectionSettings", "Signal", "injection_detector"]


@dataclass(frozen=True, slots=True)
class InjectionSettings:
    # One strong phrase (weight 4), or two weaker signals together, e.g. a fake system tag (3) and a
    # tool directive (2). A lone weak signal (1-2) is common in benign mail and documentation.
    threshold: int = 4
    # At this score several independent families agree; the AgentDojo "important instructions" attack
    # scores 13.
    high_at: int = 8
    # Arguments are written by the agent itself; injection reaches it through what it reads. Turn this
    # on to also screen what one agent passes on to another.
    scan_arguments: bool = False
    excerpt_chars: int = 80  # enough to recognise the phrase in a review queue

    def __post_init__(self) -> None:
        if self.threshold < 1:  # a threshold of 0 would report every text, found signals or not
            raise InvalidInput("the injection threshold must be at least 1", field="threshold")
        if not 1 <= self.excerpt_chars <= EXCERPT_MAX:
            raise InvalidInput(f"excerpt_chars must be between 1 and {EXCERPT_MAX}", field="excerpt_chars")


_SPEAKS_TO_MODEL = re.compile(
    r"\b(?:ai|assistant|agent|model|llm|gpt|claude|instructions?|ignore|prompt|system)\b|指令|助手|忽略|模型"
)
_LINE_OPENING = re.compile(r"[ \t>*#\-]*")  # blanks and markdown markup before a heading or a turn
_NEGATION = re.compile(
    r"\b(?:never|not|no\s+one|don't|won't|cannot|can't|shouldn't|must\s+not)\b|不要|请勿|切勿|不会|绝不|不得",
    re.IGNORECASE,
)
_NEGATION_REACH = 40  # characters before a request in which a negation turns it into advice
_EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]{1,255}")
_DIGIT = re.compile(r"[0-9]")


@dataclass(frozen=True, slots=True)
class _Index:
    """The phrases of a signal list by what their heads need: a word of the text, or a substring."""

    by_word: dict[bytes, tuple[tuple[Signal, Phrase], ...]]  # first word of an English head
    by_text: tuple[tuple[str, Signal, Phrase], ...]  # any other head: markup, Chinese
    weights: dict[str, tuple[int, str]]  # weight and description of every signal id


def _index(signals: tuple[Signal, ...]) -> _Index:
    by_word: dict[bytes, list[tuple[Signal, Phrase]]] = {}
    by_text: list[tuple[str, Signal, Phrase]] = []
    for signal in signals:
        for phrase in signal.phrases:
            if phrase.head[0].isascii() and phrase.head[0].isalpha():
                word = phrase.head.split(" ", 1)[0].lower().encode("ascii")
                by_word.setdefault(word, []).append((signal, phrase))
            else:
                by_text.append((phrase.head.lower(), signal, phrase))
    weights = {s.id: (s.weight, s.description) for s in signals} | _COMPUTED
    return _Index({w: tuple(p) for w, p in by_word.items()}, tuple(by_text), weights)


def _candidates(index: _Index, text: str, lower: str) -> list[tuple[Signal, Phrase]]:
    """The phrases whose head is in the text. English heads are found through the set of the text's
    words, built in one pass (non-ASCII characters become "?", which separates words)."""
    words = set(lower.encode("ascii", "replace").translate(_WORD_BYTES).split())
    found = [pair for word in words & index.by_word.keys() for pair in index.by_word[word]]
    ascii_only = text.isascii()
    found += [(s, p) for head, s, p in index.by_text if (head.isascii() or not ascii_only) and head in lower]
    return found


_WORD_BYTES = bytes(
    c if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_-") else 0x20 for c in range(256)
)


def _first_match(phrase: Phrase, text: str, signal: Signal) -> re.Match[str] | None:
    """The first match of ``phrase`` that meets the signal's conditions on what precedes it."""
    for match in phrase.pattern.finditer(text):
        start = match.start()
        if signal.line_start and not _LINE_OPENING.fullmatch(text, text.rfind("\n", 0, start) + 1, start):
            continue
        if signal.negatable and _NEGATION.search(text, max(0, start - _NEGATION_REACH), start):
            continue
        return match
    return None


@dataclass(frozen=True, slots=True)
class InjectionDetector:
    """The prompt-injection detector, named ``injection``; reads tool results only unless told."""

    name: str = "injection"
    signals: tuple[Signal, ...] = SIGNALS
    settings: InjectionSettings = InjectionSettings()
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _index(self.signals))  # built once, read on every scan

    def scan(self, text: str, *, where: Where) -> list[Finding]:
        if where == "arguments" and not self.settings.scan_arguments:
            return []
        revealed = reveal(text)
        hits = self._hits(revealed)
        table = self._index.weights
        score = sum(table[s][0] for s in hits)
        if score < self.settings.threshold:
            return []
        ordered = sorted(hits.items(), key=lambda item: (-table[item[0]][0], item[1].start))
        return [
            Finding(
                detector=self.name,
                category="injection.instruction",
                severity=Severity.HIGH if score >= self.settings.high_at else Severity.MEDIUM,
                start=min(hit.start for hit in hits.values()),
                end=max(hit.end for hit in hits.values()),
                excerpt=self._excerpt(ordered[0][1].excerpt),
                reason=f"prompt injection, score {score} (threshold {self.settings.threshold}): "
                + "; ".join(f"{s} +{table[s][0]} ({table[s][1]})" for s, _ in ordered),
                signals=tuple(s for s, _ in ordered),
                score=score,
            )
        ]

    def _hits(self, revealed: Revealed) -> dict[str, Hit]:
        """The first match of every signal present."""
        hits = dict(revealed.hidden)
        lower = TextViews(revealed.text).lower
        for signal, phrase in _candidates(self._index, revealed.text, lower):
            if signal.id in hits:
                continue
            match = _first_match(phrase, revealed.text if signal.case_sensitive else lower, signal)
            if match is not None:
                excerpt = revealed.text[match.start() : match.end()]
                hits[signal.id] = Hit(*revealed.span(*match.span()), excerpt)
        comment = next((c for c in comments(revealed.text) if _SPEAKS_TO_MODEL.search(c[2].lower())), None)
        if comment is not None:
            hits["hidden.html_comment"] = Hit(*revealed.span(comment[0], comment[1]), comment[2])
        return hits

    def _excerpt(self, phrase: str) -> str:
        """The strongest matched phrase, with digits and e-mail addresses masked (they may be a victim's)."""
        phrase = phrase[: self.settings.excerpt_chars * 4]  # bounds the work; cut to size below
        phrase = " ".join(_EMAIL.sub("[email]", phrase).split())[: self.settings.excerpt_chars]
        return _DIGIT.sub("#", "".join(c for c in phrase if c.isprintable()))


_COMPUTED = {  # the signals found by looking at characters and comments rather than phrases
    "hidden.invisible": (2, "invisible characters inside words, in runs, or bidirectional overrides"),
    "hidden.unicode_tags": (4, "text hidden in Unicode tag characters"),
    "hidden.html_comment": (2, "an HTML comment that speaks to the model"),
}


def injection_detector(settings: InjectionSettings | None = None) -> InjectionDetector:
    """The prompt-injection detector with ``settings`` (defaults documented on :class:`InjectionSettings`)."""
    return InjectionDetector(settings=settings or InjectionSettings())
