"""List columns of the KuaiRec files, parsed without ``eval``: in Python and as DuckDB SQL expressions.

Formats in the real files:
- integer lists, ``item_categories.feat`` and ``social_network.friend_list``: ``[8]`` (one item, unquoted
  in the CSV) or ``[27, 9]`` (items separated by ``", "``, the field double-quoted in the CSV); ``[]`` is
  empty.
- ``kuairec_caption_category.topic_tag``: ``[tag1,tag2]`` with no quotes and no spaces (neither JSON nor a
  Python literal); ``[]`` is empty. Tags are split on ``,`` inside the brackets.

The SQL builders (:func:`int_list_sql`, :func:`tag_list_sql`, :data:`INT_LIST_PATTERN`) return DuckDB
expressions over a column or expression name taken from the schema (never user input), for use in a SELECT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

INT_LIST_PATTERN = r"\[(-?[0-9]+(, ?-?[0-9]+)*)?\]"
"""Regular expression (full match) of a well-formed integer list cell: ``[]``, ``[8]``, ``[27, 9]``."""

TAG_LIST_PATTERN = r"\[[^\]]*\]"
"""Regular expression (full match) of a well-formed topic_tag cell: brackets around comma-separated tags."""

_INT_LIST_RE = re.compile(INT_LIST_PATTERN)
_TAG_LIST_RE = re.compile(TAG_LIST_PATTERN)


def parse_int_list(text: str) -> list[int]:
    """Parse ``[8]`` / ``[27, 9]`` / ``[]`` into a list of ints; ``ValueError`` on anything else."""
    if not _INT_LIST_RE.fullmatch(text):
        raise ValueError(f"not an integer list like [1, 2]: {text!r}")
    inner = text[1:-1]
    return [int(part) for part in inner.split(",")] if inner else []


def format_int_list(values: Iterable[int]) -> str:
    """Write ints the way the real files do: ``[27, 9]``, ``[8]``, ``[]``."""
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def parse_topic_tags(text: str) -> list[str]:
    """Parse ``[a,b]`` / ``[]`` into a list of tags (kept verbatim); ``ValueError`` if not bracketed."""
    if not _TAG_LIST_RE.fullmatch(text):
        raise ValueError(f"not a topic_tag list like [a,b]: {text!r}")
    inner = text[1:-1]
    return inner.split(",") if inner else []


def format_topic_tags(tags: Iterable[str]) -> str:
    """Write tags the way the real file does: ``[a,b]``; a tag may not hold ``,`` or ``]`` or be empty."""
    tags = list(tags)
    for tag in tags:
        if not tag or "," in tag or "]" in tag:
            raise ValueError(f"a topic tag must be non-empty and hold no ',' or ']': {tag!r}")
    return "[" + ",".join(tags) + "]"


def int_list_sql(expr: str) -> str:
    """DuckDB expression turning an integer-list VARCHAR ``expr`` into ``BIGINT[]`` (NULL stays NULL).

    ``[27, 9]`` -> ``[27, 9]``, ``[]`` -> ``[]``. A malformed item makes the CAST fail (an error, not a NULL);
    check cells first with ``regexp_full_match(expr, INT_LIST_PATTERN)`` where errors must be reported.
    """
    inner = f"substr({expr}, 2, length({expr}) - 2)"
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN {inner} = '' THEN CAST([] AS BIGINT[]) "
        f"ELSE list_transform(string_split({inner}, ','), lambda x: CAST(trim(x) AS BIGINT)) END"
    )


def tag_list_sql(expr: str) -> str:
    """DuckDB expression: topic_tag VARCHAR ``expr`` (``[a,b]``) -> ``VARCHAR[]`` (NULL stays NULL)."""
    inner = f"substr({expr}, 2, length({expr}) - 2)"
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN {inner} = '' THEN CAST([] AS VARCHAR[]) "
        f"ELSE string_split({inner}, ',') END"
    )
