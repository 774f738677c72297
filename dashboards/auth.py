"""Users and roles of the dashboards, kept in $CRMW_HOME/users.json with scrypt password hashes.

Roles: executive, analyst, steward, admin. Only steward and admin see personal data (names, emails, phones,
addresses, birth dates, national ids); the others see customer keys.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("executive", "analyst", "steward", "admin")
PII_ROLES = frozenset({"steward", "admin"})
NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MIN_PASSWORD = 8
# Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


class UserError(ValueError):
    """A bad user name, role or password."""


def users_path(home: Path) -> Path:
    return home / "users.json"


def load_users(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise UserError(f"{path}: expected an object with a 'users' object")
    return users


def _save(path: Path, users: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"users": users}, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def add_user(path: Path, name: str, role: str, password: str) -> bool:
    """Add a user or replace one's role and password; True when the user is new."""
    if not NAME.fullmatch(name or ""):
        raise UserError(f"user name {name!r}: use 1-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise UserError(f"role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    users = load_users(path)
    new = name not in users
    users[name] = {"role": role, "password_hash": generate_password_hash(password, method="scrypt")}
    _save(path, users)
    return new


def remove_user(path: Path, name: str) -> bool:
    users = load_users(path)
    if name not in users:
        return False
    del users[name]
    _save(path, users)
    return True


def authenticate(path: Path, name: str, password: str) -> str | None:
    """The user's role when name and password match, else None."""
    user = load_users(path).get(name or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.get("password_hash", ""), password or ""):
        return None
    role = user.get("role")
    return role if role in ROLES else None


def can_see_pii(role: str | None) -> bool:
    return role in PII_ROLES
