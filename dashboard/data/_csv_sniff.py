"""Guess how a delimited text file is written, from a decoded sample of its start.

Private helpers of :mod:`dashboard.data._ingest`: text encoding, delimiter, decimal mark, header
names. Nothing here reads files or raises user-facing errors.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter

DELIMITERS = (",", ";", "\t", "|")
_MAX_RECORDS = 200
# UTF-32 BOMs start like UTF-16 ones, so they come first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_COMMA_DECIMAL = re.compile(r"[+-]?(\d+|\d{1,3}(\.\d{3})+),\d+")
_DOT_DECIMAL = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = {
    ".": re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"),
    ",": re.compile(r"[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?"),
}


def bom_encoding(head: bytes) -> str | None:
    """Return the encoding announced by a byte-order mark at the start of ``head``, if any."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def utf16_without_bom(head: bytes) -> str | None:
    """Return ``"utf-16-le"``/``"utf-16-be"`` when ``head`` looks like BOM-less UTF-16 text.

    Mostly-ASCII UTF-16 has a NUL in every other byte; a binary file does not show that
    regular pattern.
    """
    sample = head[: 1 << 14]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.7 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.7 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def decode_sample(head: bytes, complete: bool, encoding: str | None = None) -> tuple[str, str]:
    """Decode the start of a text file and name the encoding that worked.

    Args:
        head: The first bytes of the (decompressed) file.
        complete: Whether ``head`` is the whole file; otherwise a character cut at the
            end of the sample is not an error.
        encoding: An encoding already known (from a BOM); tried alone.

    Returns:
        ``(text, encoding)``: UTF-8 (with or without BOM) when it decodes, else cp1252,
        else latin-1 (which decodes any byte).
    """
    candidates = [encoding] if encoding else ["utf-8", "cp1252", "latin-1"]
    for candidate in candidates:
        try:
            decoder = codecs.getincrementaldecoder(candidate)()
            text = decoder.decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        if candidate == "utf-8" and text.startswith("\ufeff"):
            return text[1:], "utf-8-sig"
        return text.lstrip("\ufeff"), candidate
    raise UnicodeDecodeError(candidates[-1], head[:1], 0, 1, "cannot decode the sample")


def read_records(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    """Parse up to a few hundred non-empty records of ``text`` with the csv module.

    When the sample is not the whole file the last record may be cut, so it is dropped.
    Parsing stops early (and the sample counts as cut) when the csv module rejects a record.
    """
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        for record in reader:
            if any(field.strip() for field in record):
                records.append(record)
            if len(records) > _MAX_RECORDS:
                break
    except csv.Error:  # e.g. a field over the csv module's size limit: keep what parsed
        complete = False
    if not complete and len(records) > 1:
        records.pop()
    return records


def sniff_delimiter(text: str, complete: bool, preferred: str = ",") -> str:
    """Pick the delimiter that splits the sample into the most consistent number of fields.

    A candidate scores first on whether it splits at all, then on whether the header has
    the most common field count, then on the share of records with that count, then on
    the count itself. ``preferred`` (from the file extension) wins ties.
    """
    best, best_score = preferred, (False, False, 0.0, 0)
    for delimiter in (preferred, *[d for d in DELIMITERS if d != preferred]):
        counts = [len(record) for record in read_records(text, delimiter, complete)]
        if not counts:
            continue
        mode, frequency = Counter(counts).most_common(1)[0]
        score = (mode > 1, counts[0] == mode, frequency / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def sniff_decimal(records: list[list[str]], delimiter: str) -> str:
    """Return ``","`` when a ``;``-separated sample writes its numbers with decimal commas."""
    if delimiter != ";":
        return "."
    comma = dot = 0
    for record in records[1:]:
        for field in record:
            value = field.strip()
            if _COMMA_DECIMAL.fullmatch(value):
                comma += 1
            elif _DOT_DECIMAL.fullmatch(value):
                dot += 1
    return "," if comma and comma >= dot else "."


def unique_names(raw: list[object]) -> tuple[list[str], dict[str, str]]:
    """Make header cells usable as column names.

    Empty cells become ``column_<position>`` (1-based); repeated names get ``_2``,
    ``_3``... and never collide with another header cell.

    Returns:
        ``(names, renamed)`` where ``renamed`` maps each changed name to the original cell.
    """
    originals = ["" if cell is None else str(cell) for cell in raw]
    taken = {name for name in originals if name.strip()}
    used: set[str] = set()
    names: list[str] = []
    renamed: dict[str, str] = {}
    for position, original in enumerate(originals, start=1):
        name = original if original.strip() else f"column_{position}"
        if name in used or (name != original and name in taken):
            stem, suffix = name, 2
            while f"{stem}_{suffix}" in used or f"{stem}_{suffix}" in taken:
                suffix += 1
            name = f"{stem}_{suffix}"
        if name != original:
            renamed[name] = original
        used.add(name)
        names.append(name)
    return names, renamed


_LEADING_ZERO = re.compile(r"[+-]?0\d")


def leading_zero_columns(records: list[list[str]]) -> tuple[int, ...]:
    """Return the positions of columns where some sample value is a number with a leading zero.

    "00042" or "02134" are codes (ZIP codes, ids): read as numbers they would lose their
    zeros, so such columns are read as text.
    """
    found = set()
    for record in records[1:]:
        for position, field in enumerate(record):
            if _LEADING_ZERO.match(field.strip()) and classify_value(field, ".") == "int":
                found.add(position)
    return tuple(sorted(found))


def classify_value(value: str, decimal: str) -> str:
    """Return the narrowest of ``"int"``, ``"float"``, ``"string"`` that holds ``value``."""
    text = value.strip()
    if len(text) <= 20 and _INTEGER.fullmatch(text) and -(1 << 63) <= int(text) < (1 << 63):
        return "int"
    if _FLOAT[decimal].fullmatch(text):
        return "float"
    return "string"
