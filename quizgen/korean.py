"""Korean as a textbook prints it: numbers read aloud, the particles that follow them, ordinals.

A Korean particle depends on how the word before it ends when read aloud: 1,032는 reads
천삼십이 (a vowel), so it takes 가, 는, 를, 와, 로; 529,441 reads 오십이만 구천사백사십일 (ㄹ), so
it takes 이, 은, 을, 과 and 로 (ㄹ takes 로, as a vowel does). Templates in data/*.json write
a particle after a value as both forms, ``이(가)``, ``은(는)``, ``을(를)``, ``과(와)`` or ``(으)로``,
and ``particles`` chooses one by reading the word before it: a number (read by
``read_number``), a Hangul syllable, or Latin letters (read as Korean speakers spell them:
``LSTM`` 엘에스티엠, ``GRU`` 지알유). A word it cannot read keeps both forms, which is how
Korean software writes a particle it cannot choose.

Pure Python without dependencies: student commands use it for feedback.
"""

from __future__ import annotations

import re

_DIGITS = "영일이삼사오육칠팔구"
_SMALL_UNITS = ("", "십", "백", "천")
_BIG_UNITS = ("", "만", "억", "조", "경")


def read_number(n: int) -> str:
    """A whole number read in Sino-Korean, spaced by 만 units as 한글 맞춤법 제44항 writes it:
    1 일, 10 십, 1,032 천삼십이, 10,000 만, 529,441 오십이만 구천사백사십일."""
    if n < 0:
        return "마이너스 " + read_number(-n)
    if n == 0:
        return "영"
    if n >= 10 ** (4 * len(_BIG_UNITS)):  # past 경's range: read digit by digit, as one reads a long code
        return "".join(_DIGITS[int(d)] for d in str(n))
    groups = []
    big = 0
    while n:
        n, group = divmod(n, 10_000)
        if group:
            groups.append(_read_group(group, leading_one=big >= 2 or (big == 0)) + _BIG_UNITS[big])
        big += 1
    return " ".join(reversed(groups))


def _read_group(n: int, leading_one: bool) -> str:
    """A number below 10,000: 일 is not said before 십, 백 and 천 (천삼십이), nor alone before
    만 (만, not 일만); it is before 억 and 조 (일억) and as a units digit."""
    out = []
    for power in (3, 2, 1, 0):
        digit = n // 10 ** power % 10
        if not digit:
            continue
        if digit == 1 and power:
            out.append(_SMALL_UNITS[power])
        else:
            out.append(_DIGITS[digit] + _SMALL_UNITS[power])
    text = "".join(out)
    if text == "일" and not leading_one:
        return ""
    return text


# Latin letters as Korean speakers spell them out, and the few words read as words.
_LETTERS = {
    "a": "에이", "b": "비", "c": "씨", "d": "디", "e": "이", "f": "에프", "g": "지", "h": "에이치", "i": "아이",
    "j": "제이", "k": "케이", "l": "엘", "m": "엠", "n": "엔", "o": "오", "p": "피", "q": "큐", "r": "알",
    "s": "에스", "t": "티", "u": "유", "v": "브이", "w": "더블유", "x": "엑스", "y": "와이", "z": "지",
}
_WORDS = {  # last syllable as read: the layer names and words quizgen's Korean texts put particles after
    "dense": "스", "embedding": "딩", "dropout": "웃", "flatten": "튼", "rnn": "엔", "simplernn": "엔",
    "bidirectional": "널", "timedistributed": "드", "concatenate": "트", "attention": "션", "none": "논",
    "true": "루", "false": "스", "relu": "루", "softmax": "스", "sigmoid": "드", "tanh": "치", "add": "드",
    "layernormalization": "션", "batchnormalization": "션", "multiheadattention": "션", "input": "트",
    "tokenizer": "저", "keras": "스", "numpy": "이", "kernel": "널", "bias": "스", "units": "츠",
    "maxlen": "렌", "batch": "치", "padding": "딩", "summary": "리", "model": "델", "sequential": "얼",
}

_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # ㄹ as a final consonant (jongseong index)


def _final(syllable: str) -> int | None:
    """The final consonant's index of a Hangul syllable (0: none), or None if it is not one."""
    code = ord(syllable)
    if not _HANGUL_BASE <= code <= _HANGUL_LAST:
        return None
    return (code - _HANGUL_BASE) % 28


def _reading_end(word: str) -> str | None:
    """The last syllable of ``word`` as it is read aloud, or None if it cannot be read."""
    word = word.strip()
    if not word:
        return None
    number = re.search(r"[0-9][0-9,]*$", word)
    if number:
        digits = number.group().replace(",", "")[-24:]  # a long code: its last digits decide the ending
        return read_number(int(digits))[-1]
    if _final(word[-1]) is not None:
        return word[-1]
    letters = re.search(r"[A-Za-z][A-Za-z0-9_]*$", word)
    if letters:
        token = letters.group().lower()
        if token in _WORDS:
            return _WORDS[token]
        if token[-1].isdigit():
            return read_number(int(re.search(r"[0-9]+$", token).group()[-24:]))[-1]  # type: ignore[union-attr]
        if letters.group().isupper() or len(token) == 1:
            return _LETTERS[token[-1]][-1]
    return None


_PAIRS = {"이(가)": ("이", "가"), "은(는)": ("은", "는"), "을(를)": ("을", "를"), "과(와)": ("과", "와"),
          "(으)로": ("으로", "로"), "이(라)": ("이라", "라")}


def particle(word: str, pair: str) -> str:
    """The form of ``pair`` (``"이(가)"``, ``"은(는)"``, ``"을(를)"``, ``"과(와)"``, ``"(으)로"``)
    that follows ``word`` read aloud; the pair itself if ``word`` cannot be read."""
    after_consonant, after_vowel = _PAIRS[pair]
    end = _reading_end(word)
    if end is None:
        return pair
    final = _final(end)
    if pair == "(으)로":
        return after_vowel if final in (0, _RIEUL) else after_consonant
    return after_vowel if final == 0 else after_consonant


_MARKER = re.compile("|".join(re.escape(pair) for pair in _PAIRS))
_FENCE = re.compile(r"(```.*?```)", re.S)


def particles(text: str) -> str:
    """``text`` with each two-form particle after a word replaced by the form that word takes
    (``1,032이(가)`` → ``1,032가``); fenced code blocks are left as they are."""
    if not any(pair in text for pair in _PAIRS):  # most texts, and every text already finished
        return text
    pieces = _FENCE.split(text)
    for i in range(0, len(pieces), 2):
        pieces[i] = _resolved(pieces[i])
    return "".join(pieces)


def _resolved(prose: str) -> str:
    out, last = [], 0
    for m in _MARKER.finditer(prose):
        start = m.start()
        word_start = max(prose.rfind(" ", 0, start), prose.rfind("\n", 0, start)) + 1
        word = prose[word_start:start]
        out.append(prose[last:start])
        out.append(particle(_word_before(word), m.group()) if word else m.group())
        last = m.end()
    out.append(prose[last:])
    return "".join(out)


def _word_before(token: str) -> str:
    """The part of ``token`` read just before a particle: ``(None, 128)`` is read up to 128."""
    return token.rstrip(")]'\"`")


_NATIVE_ONES = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")


def ordinal(n: int) -> str:
    """``첫 번째``, ``두 번째``, ``열한 번째``, ``스무 번째``: the native ordinal a textbook writes
    for a layer's place (from 100 on, ``100번째``)."""
    if n == 1:
        return "첫 번째"
    if not 1 < n < 100:
        return f"{n}번째"
    tens, ones = divmod(n, 10)
    if n == 20:
        return "스무 번째"
    return f"{_NATIVE_TENS[tens]}{_NATIVE_ONES[ones]} 번째"
