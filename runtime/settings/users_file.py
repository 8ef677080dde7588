"""Setting one account's ``password_hash`` in a config file's text (``motcua user set-password``), leaving every
other byte as the admin wrote it: comments, order, the other accounts.

A line edit, not a TOML rewrite (the stdlib reads TOML but does not write it, and a rewrite would drop the file's
comments); the result is read back and must equal the original with only that one hash changed, else nothing is
written and the caller gets a sentence. Pure: text in, text out; the caller does the file I/O.
"""
from __future__ import annotations

import re
import tomllib
from typing import Any

_USERS_HEADER = re.compile(r"^\s*\[\[\s*users\s*\]\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_HASH_LINE = re.compile(r"^(\s*)password_hash\s*=")
_USERNAME_LINE = re.compile(r"^(\s*)username\s*=")


class UsersFileError(ValueError):
    """The account is not in the file, or the file is not laid out so that one line can be changed safely."""


def set_password_hash(text: str, username: str, pw_hash: str) -> str:
    """``text`` with the ``[[users]]`` entry named ``username`` given ``pw_hash`` (replacing its password_hash
    line, or adding one under its username line)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsersFileError(f"not valid TOML: {err}") from None
    users = raw.get("users")
    if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
        raise UsersFileError("no [[users]] accounts in this file")
    names = [str(u.get("username", "")) for u in users]
    if username not in names:
        raise UsersFileError(f"không có tài khoản / no account {username!r} (có / there are: {', '.join(names)})")
    index = names.index(username)

    lines = text.splitlines(keepends=True)
    blocks: list[tuple[int, int]] = []       # [start, end) of each [[users]] table, in file order
    start: int | None = None
    for i, line in enumerate(lines):
        if _ANY_HEADER.match(line):
            if start is not None:
                blocks.append((start, i))
                start = None
            if _USERS_HEADER.match(line):
                start = i
    if start is not None:
        blocks.append((start, len(lines)))
    if len(blocks) != len(users):
        raise UsersFileError("the accounts are not written as [[users]] tables; put the hash in by hand")
    first, end = blocks[index]
    newline = "\r\n" if lines[first].endswith("\r\n") else "\n"
    for i in range(first + 1, end):
        m = _HASH_LINE.match(lines[i])
        if m:
            lines[i] = f'{m.group(1)}password_hash = "{pw_hash}"{newline}'
            break
    else:
        for i in range(first + 1, end):
            m = _USERNAME_LINE.match(lines[i])
            if m:
                lines.insert(i + 1, f'{m.group(1)}password_hash = "{pw_hash}"{newline}')
                break
        else:
            raise UsersFileError(f"could not find {username!r}'s lines; put the hash in by hand")
    result = "".join(lines)
    _same_but_the_hash(raw, result, index, pw_hash)
    return result


def _same_but_the_hash(raw: dict[str, Any], result: str, index: int, pw_hash: str) -> None:
    """The edit changed exactly one value (a multi-line string or an odd layout could fool the line scan)."""
    expected = {**raw, "users": [dict(u) for u in raw["users"]]}
    expected["users"][index]["password_hash"] = pw_hash
    try:
        ok = tomllib.loads(result) == expected
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        raise UsersFileError("the file is laid out so that one line cannot be changed safely; put the hash in by hand")
