"""`frontline-console`: use the bot in a terminal, with no Slack workspace.

The console plays Slack: it signs requests exactly as Slack would and hands them to the same WSGI app,
bolt App and listeners as production; a local Slack stand-in receives what the bot sends back, and the
console prints it as Slack would show it (entities unescaped, uploaded files saved to a folder whose
path is printed). Piped input works too (one command per line, exits at end of input).

Its own entry point rather than a `frontline` subcommand: the product CLI (bot/) never imports this
dev package, and `frontline-console` exists only where the `local` extra is installed.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
from pathlib import Path
from collections.abc import Sequence
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Feature, build_app
from bot.commands import CommandError
from bot.config import ConfigError, Settings
from bot.logs import configure_logging
from bot.web import FrontlineWeb
from localslack.demo_shop import DemoWebShop
from localslack.executor import TrackingExecutor, wait_for_listeners
from localslack.local_slack import LocalSlack, SlackCall
from localslack.slack_driver import Reply, SlackDriver, WsgiTransport, surface_of
from localslack.text_render import Control, render_message, render_view, slack_unescape
from store.db import REQUEST_BUSY_TIMEOUT_MS, SchemaOutdated, ensure_schema_current, make_engine, make_session_factory
from store.models import Employee

HELP = """\
  /command text      run a slash command, e.g. /customer dupont
  click N            press button N
  select N CHOICE    pick CHOICE (option text or value) in select/overflow/date N
  set N VALUE        fill input N of the open modal (then `submit`)
  type N TEXT        type TEXT in search-as-you-type select N, list what it offers
  submit | close     submit or close the open modal
  home               open the bot's Home tab
  mention TEXT       @-mention the bot in a channel
  shortcut ID        run a global shortcut; `msgshortcut ID TEXT` runs a message shortcut on TEXT
  as USER_ID         act as another Slack user id
  help | quit        anything else is sent to the bot as a direct message"""

SHOWN_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update", "response_url", "views.open",
                 "views.push", "views.update", "views.publish", "files.completeUploadExternal"}


# Libraries that log routine lines a console user has no use for: matplotlib announces the font cache
# it builds the first time a chart is drawn.
QUIET_LOGGERS = ("matplotlib",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontline-console",
                                     description="Try the bot in the terminal, with no Slack workspace: talk to it "
                                                 "as a registered employee. " + HELP.replace("\n", " "))
    parser.add_argument("--as", dest="user", metavar="SLACK_USER_ID",
                        help="act as this employee (default: a store manager, else an admin, else any employee)")
    parser.add_argument("--live-shop", action="store_true",
                        help="the demo web shop sends live events through the tracking API while the console is "
                             "open (a demo database only: it gives the `web` source a new write key)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `frontline-console` entry point: settings and logging as `frontline` sets them up."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"frontline-console: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        return run(args, settings)
    except (CommandError, ConfigError) as error:
        print(f"frontline-console: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


class Console:
    def __init__(self, driver: SlackDriver, slack: LocalSlack, user_id: str, out: TextIO) -> None:
        self.driver, self.slack, self.user, self.out = driver, slack, user_id, out
        self.controls: dict[int, tuple[Control, Any]] = {}  # number -> (Control, surface it belongs to)
        self.modal: dict[str, Any] | None = None
        self.modal_values: dict[str, Any] = {}
        self.last_message: Any = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    # ---- one line of input ----------------------------------------------------------------
    def handle(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return True
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word in ("quit", "exit"):
            return False
        try:
            if line.startswith("/"):
                self._show(self.driver.command(word, rest.strip(), user=self.user, settle=True))
            elif word == "help":
                self.say(HELP)
            elif word == "as":
                self.user = rest.strip()
                self.say(f"(now acting as {self.user})")
            elif word == "click":
                control, surface = self._control(rest)
                self._show(self.driver.click(control.action_id, user=self.user, on=surface, state=self._state(surface)))
            elif word == "select":
                number, _, choice = rest.partition(" ")
                control, surface = self._control(number)
                self._show(self.driver.click(control.action_id, user=self.user, on=surface, value=_choice(control, choice),
                                             state=self._state(surface)))
            elif word == "set":
                number, _, value = rest.partition(" ")
                control, surface = self._control(number)
                if not control.in_input_block or surface is not self.modal:
                    raise ValueError(f"{number} is not a field of the open modal")
                self.modal_values[control.action_id] = _choice(control, value.strip())
                self.say(f"({control.label or control.action_id} = {value.strip()})")
            elif word == "type":
                number, _, typed = rest.partition(" ")
                control, surface = self._control(number)
                reply = self.driver.suggest(control.action_id, typed, user=self.user, on=surface)
                options = (reply.json or {}).get("options") or []
                self.say("  " + ("\n  ".join(o["text"]["text"] for o in options) if options else "(no suggestions)"))
            elif word == "submit":
                self._show(self.driver.submit(self._open_modal(), self.modal_values, user=self.user), submitted=True)
            elif word == "close":
                self.driver.close(self._open_modal(), user=self.user)
                self.modal, self.modal_values = None, {}
                self.say("(modal closed)")
            elif word == "home":
                self._show(self.driver.open_home(user=self.user))
            elif word == "mention":
                self._show(self.driver.mention(rest, user=self.user))
            elif word == "shortcut":
                self._show(self.driver.global_shortcut(rest.strip(), user=self.user))
            elif word == "msgshortcut":
                callback_id, _, text = rest.partition(" ")
                message = {"type": "message", "user": self.user, "text": text, "ts": "1700000000.000100"}
                self._show(self.driver.message_shortcut(callback_id, user=self.user, message=message))
            else:
                self._show(self.driver.dm(line, user=self.user))
        except (KeyError, ValueError, IndexError) as error:
            self.say(f"! {error.args[0] if error.args else error}")
        return True

    def _control(self, number: str):
        try:
            return self.controls[int(number.strip())]
        except (ValueError, KeyError):
            raise ValueError(f"no control numbered {number.strip() or '?'}; the numbers are in (brackets)") from None

    def _next_number(self) -> int:
        """Numbers keep growing: a button shown earlier stays pressable, as it would in Slack."""
        return max(self.controls, default=0) + 1

    def _open_modal(self) -> dict[str, Any]:
        if self.modal is None:
            raise ValueError("no modal is open")
        return self.modal

    def _state(self, surface) -> dict[str, Any] | None:
        return self.modal_values if self.modal is not None and surface is self.modal else None

    # ---- showing what the bot did ---------------------------------------------------------
    def _show(self, reply: Reply, *, submitted: bool = False) -> None:
        mark = getattr(self, "_mark", 0)
        self._mark = self.slack.mark()
        body = reply.json if isinstance(reply.json, dict) else None
        if reply.status != 200:
            self.say(f"! the bot answered HTTP {reply.status}")
        if submitted and reply.status == 200:
            self._after_submit(body)
        elif body and ("text" in body or "blocks" in body):
            self._render_message(dict(body, channel="C0CONSOLE"), "reply")
        elif reply.body and not body:
            self._render_message({"text": reply.body, "channel": "C0CONSOLE"}, "reply")
        for call in self.slack.calls_since(mark):
            if call.method not in SHOWN_METHODS:
                continue
            if not call.ok:
                self.say(f"! {call.method} failed: {call.response.get('error')}")
            elif call.method.startswith("views."):
                self._render_view(call)
            elif call.method == "files.completeUploadExternal":
                for shared in call.response.get("files", []):
                    saved = self.slack.uploads.get(shared["id"], {}).get("path")
                    self.say(f"[file] {slack_unescape(shared['title'])}: {saved or '(not saved)'}")
            else:
                self._render_message(call, _label(call))
        for failure in self.slack.validation_failures[getattr(self, "_failures", 0):]:
            self.say(f"! invalid Block Kit in {failure.method}: {failure.problem}")
        self._failures = len(self.slack.validation_failures)

    def _after_submit(self, body: dict[str, Any] | None) -> None:
        body = body or {}
        action = body.get("response_action")
        if action == "errors":
            for block_id, error in body["errors"].items():
                self.say(f"! {block_id}: {error}")
            self._number_view(self._open_modal())
        elif action in ("update", "push"):
            modal = dict(body["view"], id=(self.modal or {}).get("id"))
            self.modal, self.modal_values = modal, {}
            self._number_view(modal)
        else:
            self.modal, self.modal_values = None, {}
            self.say("(modal submitted)")

    def _number_view(self, view: dict[str, Any]) -> None:
        rendered = render_view(view, first_number=self._next_number())
        self.say(slack_unescape(rendered.text))
        for control in rendered.controls:
            self.controls[control.number] = (control, view)

    def _render_view(self, call: SlackCall) -> None:
        view: dict[str, Any] = call.response.get("view") or call.args.get("view") or {}
        if view.get("type") == "modal":
            self.modal, self.modal_values = view, {}
        self._number_view(view)

    def _render_message(self, call_or_message: SlackCall | dict[str, Any], label: str) -> None:
        message = surface_of(call_or_message).get("message") or {}
        rendered = render_message(message, first_number=self._next_number())
        self.say(f"[{label}]")
        # Slack shows `&amp;` as `&`: the bot escapes what it sends, the console shows what a user sees.
        self.say("  " + slack_unescape(rendered.text).replace("\n", "\n  "))
        for control in rendered.controls:
            self.controls[control.number] = (control, call_or_message)
        self.last_message = call_or_message


def _label(call: SlackCall) -> str:
    if call.method == "chat.postEphemeral" or (call.method == "response_url" and call.args.get("response_type") != "in_channel"):
        return "only visible to you"
    if call.method == "chat.update" or call.args.get("replace_original"):
        return f"updated message in {call.args.get('channel', 'the conversation')}"
    channel = str(call.args.get("channel", ""))
    return "direct message from the bot" if channel[:1] in ("U", "D") else f"message in {channel or 'the conversation'}"


def _choice(control: Control, text: str) -> Any:
    """The option meant by `text` (its text or value), a list for multi-selects, else the text."""
    if not control.options:
        if control.type.startswith("multi_") or control.type == "checkboxes":
            return [t.strip() for t in text.split(",") if t.strip()]
        return text
    wanted = [t.strip().lower() for t in (text.split(",") if control.type.startswith("multi_") or control.type == "checkboxes" else [text])]
    picked = [o for o in control.options
              if o.get("value", "").lower() in wanted or o["text"]["text"].lower() in wanted]
    if not picked:
        raise ValueError(f"no option {text!r}; options: " + ", ".join(o["text"]["text"] for o in control.options))
    return picked if len(wanted) > 1 or control.type.startswith("multi_") or control.type == "checkboxes" else picked[0]


def _pick_user(session_factory: sessionmaker[Session], wanted: str | None) -> tuple[str, str, str]:
    with session_factory() as session:
        query = select(Employee).where(Employee.active.is_(True))
        if wanted:
            employee = session.scalars(select(Employee).where(Employee.slack_user_id == wanted)).one_or_none()
        else:
            employees = session.scalars(query.order_by(Employee.id)).all()
            # A store manager can try everything that matters on the floor: lookups, logging, follow-ups
            # and their team's KPIs; the head-office admin has no customers or team figures of their own.
            employee = next((e for e in employees if e.role == "manager" and e.store_id is not None),
                            next((e for e in employees if e.role == "admin"), employees[0] if employees else None))
        if employee is None:
            return wanted or "U0CONSOLE", "Console user", "en-US"
        return employee.slack_user_id, employee.name, {"fr": "fr-FR"}.get(employee.locale or "", "en-US")


def run(args: argparse.Namespace, settings: Settings, *, stdin: TextIO | None = None,
        stdout: TextIO | None = None, features: Sequence[Feature] | None = None, files_dir: Path | None = None) -> int:
    """Until `quit` or end of input. Files the bot uploads are saved under `files_dir` (default: a new
    folder in the temporary directory, left in place so the user can open them after the session)."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    engine = make_engine(settings.database_url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    try:
        ensure_schema_current(engine)
    except SchemaOutdated as error:
        raise CommandError(str(error)) from None
    session_factory = make_session_factory(engine)
    user_id, name, locale = _pick_user(session_factory, args.user)
    secret = secrets.token_hex(16)
    # Named now, created by the first upload: a session that uploads nothing leaves no empty folder behind.
    files_dir = files_dir or Path(tempfile.gettempdir()) / f"frontline-console-{secrets.token_hex(4)}"
    with LocalSlack(files_dir=files_dir) as slack:
        slack.add_user(user_id, name, locale=locale)
        local = settings.with_overrides(slack_bot_token=slack.bot_token, slack_signing_secret=secret,
                                        slack_api_url=slack.api_url)
        app = build_app(local, session_factory, features=features, listener_executor=TrackingExecutor())
        driver = SlackDriver(WsgiTransport(FrontlineWeb(app, engine)), slack, secret,
                             settle=lambda: wait_for_listeners(app, 30))
        console = Console(driver, slack, user_id, stdout)
        interactive = stdin.isatty()
        console.say(f"Frontline console: you are {name} ({user_id}). Type `help`; `quit` to leave.")
        shop = None
        if getattr(args, "live_shop", False):
            shop = DemoWebShop(local, session_factory, engine, app, employee_slack_id=user_id).start()
            console.say(shop.announcement())
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line = stdin.readline()
            if not line:
                break
            if not interactive:
                console.say(f"> {line.rstrip()}")
            if not console.handle(line):
                break
        if shop is not None:
            shop.stop()
        app.listener_runner.listener_executor.shutdown(wait=True)
    engine.dispose()
    return 0
