"""The shipped hub example as a center deploys it: real passwords for its accounts (the shipped ones are the public
demo password, which a hub without --lab refuses). Tests of the documented command itself, `motcua user
set-password`, are in tests/e2e/test_config_runs.py and tests/unit/test_demo_accounts.py."""
from __future__ import annotations

import functools
import tomllib

from werkzeug.security import generate_password_hash

from runtime.settings.users_file import set_password_hash

REAL_PASSWORD = "mật khẩu thật của trung tâm"


@functools.cache
def _real_hash() -> str:
    return generate_password_hash(REAL_PASSWORD)      # strong (scrypt), as a config file needs; made once


def with_real_passwords(text: str) -> str:
    """``text`` (a hub config) with every [[users]] account on REAL_PASSWORD, nothing else changed."""
    for user in tomllib.loads(text).get("users", []):
        text = set_password_hash(text, user["username"], _real_hash())
    return text
