"""`crmw serve`, `crmw report` and `crmw users`: the dashboard's subcommands, added to orchestration.cli's
parser by `add_subcommands` (imports of Dash and plotly happen only when a command runs)."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys

from orchestration.settings import Settings

SECRET_ENV = "CRMW_SESSION_SECRET"


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from dashboards.app import create_app
    from dashboards.auth import load_users, users_path
    from dashboards.data import ServingData

    users = users_path(settings.home)
    if not load_users(users):
        _say(f"error: no dashboard users in {users}; add one with `crmw users add NAME --role admin`")
        return 2
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        secret = secrets.token_urlsafe(32)
        _say(f"{SECRET_ENV} is not set: using a random session secret, so sign-ins end when the server stops")
    if not settings.serving_path.exists():
        _say(f"warning: nothing published yet at {settings.serving_path}; pages will say so until `crmw refresh`")
    # Warm: after each publish, the first request starts preparing what the pages read, in the background.
    app = create_app(settings, secret, users, ServingData(settings, warm=True))
    _say(f"dashboards on http://{args.host}:{args.port} (reading {settings.serving_path}); Ctrl-C stops")
    app.run(host=args.host, port=args.port, debug=False)
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from dashboards.report import write_report

    try:
        path = write_report(settings)
    except FileNotFoundError as exc:
        _say(f"error: {exc}; run `crmw refresh` first")
        return 2
    _say(f"report pack written: {path}")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    from dashboards.auth import UserError, add_user, load_users, remove_user, users_path

    path = users_path(settings.home)
    try:
        if args.action == "add":
            if not args.role:
                _say("error: --role is required for `crmw users add`")
                return 2
            new = add_user(path, args.name, args.role, _read_password(args))
            _say(f"{'added' if new else 'updated'} {args.name} ({args.role}) in {path}")
        elif args.action == "remove":
            if not remove_user(path, args.name):
                _say(f"error: no user {args.name!r} in {path}")
                return 1
            _say(f"removed {args.name}")
        else:
            for name, user in sorted(load_users(path).items()):
                _say(f"{name}\t{user.get('role')}")
    except (UserError, ValueError) as exc:
        _say(f"error: {exc}")
        return 2
    return 0


def add_subcommands(sub) -> None:
    from dashboards.auth import ROLES

    serve = sub.add_parser("serve", help="the dashboards (Dash) on 127.0.0.1:8050, login required")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    serve.set_defaults(func=cmd_serve)

    report = sub.add_parser("report", help="write today's executive report pack (self-contained HTML) to reports/")
    report.set_defaults(func=cmd_report)

    users = sub.add_parser("users", help="dashboard users: add NAME --role ROLE (password from prompt or stdin), "
                           "remove NAME, list")
    users.add_argument("action", choices=("add", "remove", "list"))
    users.add_argument("name", nargs="?", default="")
    users.add_argument("--role", choices=ROLES, help="executive, analyst, steward (sees personal data) or admin")
    users.set_defaults(func=cmd_users)
