"""Secret handling shared by every layer.

Settings hold secrets as pydantic `SecretStr` from the moment they are read. As each one is read it
is also *registered* here, so that any free text that leaves the process (log records, step
messages, error lines) can be scrubbed of it as a last line of defence.

`redact` masks a secret in the forms a server may echo it back in, not only verbatim: JSON- or
backslash-escaped (`\\"`, `\\\\`, `\\u00e9`, any depth up to 16 backslashes), URL-encoded (`%22`, `+`
for a space, either case of hex), and HTML-escaped, in any mixture. It also hides the password in a
URL's userinfo and the values of a URL's query (`scanner.urls.scrub_urls`). `clip` masks first and
cuts after, so a cut can never land inside a secret and leave part of it in the text.

All registered secrets are matched in one pass by one compiled pattern (a trie of the values, longest
match first), rebuilt only when the set changed: masking costs the same with one secret or 10,000.
"""

from __future__ import annotations

import logging
import re
import threading

from pydantic import SecretStr

from scanner.urls import scrub_urls

MASK = "*********"
"""OpenMetadata's password mask (nine asterisks); a PUT carrying it keeps the stored secret."""

_MIN_LEN = 4  # shorter values are too likely to appear by chance in ordinary text
_lock = threading.Lock()
_known: set[str] = set()
_pending: list[str] = []  # registered since the last redact
_levels: list[_Level] = []  # every other secret, in a few compiled patterns (most often one)
_quiet = 0  # redact calls since the last registration
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
_BACKSLASHES = r"\\{1,16}"  # bounded: no catastrophic backtracking on a body full of backslashes
_CONTROL = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}
_HTML = {"&": ("amp",), "<": ("lt",), ">": ("gt",), '"': ("quot",), "'": ("apos",)}


def register(value: SecretStr | str | None) -> None:
    """Remember a secret value so `redact` can scrub it from free text."""
    global _quiet
    if value is None:
        return
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw and len(raw) >= _MIN_LEN:
        with _lock:
            if raw not in _known:
                _known.add(raw)
                _pending.append(raw)
                _quiet = 0


def redact(text: str) -> str:
    """Mask every registered secret in `text` (in every encoding), and URL userinfo and query values."""
    if not text:
        return text
    text = scrub_urls(text)
    levels = _current()
    if len(levels) == 1 and levels[0].pattern is not None:
        return levels[0].pattern.sub(MASK, text)
    return _mask(text, [span for level in levels for span in level.spans(text)])


def clip(text: str, size: int) -> str:
    """`text` masked, then cut to `size` characters: a cut never leaves part of a secret behind."""
    return redact(str(text))[:size]


class _Level:
    """Some of the secrets, as one pattern (a trie of them, longest match first). Values the regex engine
    cannot take in one pattern (e.g. hundreds of secrets each a prefix of the next) are split in halves
    until it can; a single value it still cannot take is matched verbatim."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.patterns: list[re.Pattern[str]] = []
        self.verbatim: list[str] = []
        self._build(sorted(values))
        self.pattern = self.patterns[0] if len(self.patterns) == 1 and not self.verbatim else None

    def _build(self, values: list[str]) -> None:
        try:
            self.patterns.append(re.compile(_trie_pattern(values)))
        except (RecursionError, re.error, OverflowError, MemoryError):
            if len(values) == 1:
                self.verbatim.extend(values)
            else:
                self._build(values[: len(values) // 2])
                self._build(values[len(values) // 2:])

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = [match.span() for pattern in self.patterns for match in pattern.finditer(text)]
        for raw in self.verbatim:
            start = text.find(raw)
            while start >= 0:
                found.append((start, start + len(raw)))
                start = text.find(raw, start + 1)
        return found


def _current() -> list[_Level]:
    """The levels covering every registered secret. Secrets registered since the last call become a new
    level; levels merge like a binary counter (a level is rebuilt only with one at least as big), and all
    into one once registrations pause. Building costs O(n log n) over a run, matching O(log n) patterns at
    worst and one pattern in the steady state, however registrations and masking interleave."""
    global _pending, _levels, _quiet
    with _lock:  # held while building, so that no thread masks with a set missing a registered secret
        _quiet += 1
        if not _pending and (len(_levels) <= 1 or _quiet < 8):
            return _levels
        levels = list(_levels)
        if _pending:
            levels.append(_Level(_pending))
            _pending = []
        while len(levels) > 1 and (_quiet >= 8 or len(levels[-2].values) <= len(levels[-1].values)):
            top = levels.pop()
            levels[-1] = _Level(levels[-1].values + top.values)
        _levels = levels
        return levels


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with every span (merged where they overlap: the longest secret wins) replaced by the mask."""
    out, end = [], 0
    for start, stop in sorted(spans):
        if start < end:  # overlaps the span just masked
            end = max(end, stop)
            continue
        out.append(text[end:start])
        out.append(MASK)
        end = stop
    out.append(text[end:])
    return "".join(out)


def _hex(code: int, width: int) -> str:
    """`code` in hex, either case."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{code:0{width}x}")


def _atom(char: str) -> str:
    """A pattern for one character of a secret as it may appear echoed: verbatim or escaped/encoded."""
    if char in _PLAIN:
        return re.escape(char)
    code = ord(char)
    forms = [re.escape(char)]
    encoded = char.encode("utf-8", "surrogatepass")
    forms.append("".join("%" + _hex(b, 2) for b in encoded))  # URL encoding
    if char == " ":
        forms.append(r"\+")
    if char == "\\":
        forms.append(_BACKSLASHES)  # JSON/repr escaping doubles it, once or more
    else:
        forms.append(_BACKSLASHES + re.escape(char))  # \" \' \/ ..., at any depth
    if char in _CONTROL:
        forms.append(_BACKSLASHES + _CONTROL[char])
    if code < 0x100 and not char.isprintable() or code >= 0x80:
        if code < 0x100:
            forms.append(_BACKSLASHES + "x" + _hex(code, 2))
        if code < 0x10000:
            forms.append(_BACKSLASHES + "u" + _hex(code, 4))
        else:
            high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
            forms.append(_BACKSLASHES + "u" + _hex(high, 4) + _BACKSLASHES + "u" + _hex(low, 4))
            forms.append(_BACKSLASHES + "U" + _hex(code, 8))
    forms.append("&#0*" + str(code) + ";")
    forms.append("&#[xX]0*" + _hex(code, 1).lstrip("0") + ";" if code else "&#[xX]0+;")
    forms.extend("&" + name + ";" for name in _HTML.get(char, ()))
    return "(?:" + "|".join(forms) + ")"


def _trie_pattern(values: list[str]) -> str:
    """One pattern matching any of `values`, preferring the longest at each position."""
    trie: dict = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}  # a value ends here

    atoms: dict[str, str] = {}

    def atom(char: str) -> str:
        if char not in atoms:
            atoms[char] = _atom(char)
        return atoms[char]

    def render(node: dict) -> str:
        parts = []
        for char in sorted(k for k in node if k):  # a chain of single children needs no group, nor recursion
            chain, child = [], node[char]
            chain.append(atom(char))
            while len(child) == 1 and "" not in child:
                (next_char, next_child), = child.items()
                chain.append(atom(next_char))
                child = next_child
            rest = render(child) if any(child) else ""
            parts.append("".join(chain) + rest)
        if not parts:
            return ""
        body = "|".join(parts)
        if "" in node:  # a value may also end here: the longer alternatives first, then nothing
            return f"(?:{body})?"
        return body if len(parts) == 1 else f"(?:{body})"

    return render(trie)


class RedactingFilter(logging.Filter):
    """Logging filter that scrubs registered secrets from every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
