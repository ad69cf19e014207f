"""A loopback stand-in for the Slack Web API.

`frontline-console` runs the bot against it with no workspace, and the tests use it as Slack.
It answers the Web API methods the bot uses with Slack-shaped JSON, records every call, validates every
Block Kit payload with slack_sdk's own models plus Slack's limits, and can be told to fail a method.
Socket Mode: a localslack.local_socket_mode.LocalSocketMode attached to it serves apps.connections.open.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from collections.abc import Callable
from urllib.parse import parse_qsl, urlparse

from localslack.block_checks import check_message_payload, check_view, quiet_slack_sdk_block_warnings
from localslack.slack_requests import Workspace, new_id
from localslack.text_render import visible_text

RESPONSE_URL_METHOD = "response_url"
# A slash command answered in its HTTP response (or its Socket Mode ack): Slack shows that message to the
# user like one posted to the response_url; recorded under its own name so a test can tell the two apart.
COMMAND_RESPONSE_METHOD = "command_response"


class NotStarted(RuntimeError):
    """A stand-in was asked for its address before start()."""


class NotSeen(TimeoutError):
    """What a test waited for did not happen in time (no such call, connection or ack)."""


class InvalidPayloads(Exception):
    """The bot sent Slack something real Slack would reject or mangle (Block Kit, protocol)."""


@dataclass(frozen=True)
class SlackCall:
    method: str
    args: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks")
        if blocks is None and isinstance(self.args.get("view"), dict):
            blocks = self.args["view"].get("blocks")
        return blocks or []

    @property
    def text(self) -> str:
        """Everything a user could read in this call (fallback text + block texts), for assertions."""
        return visible_text(self.args)


@dataclass(frozen=True)
class ValidationFailure:
    method: str
    problem: str


@dataclass
class _Fault:
    remaining: int
    status: int = 200
    retry_after: int | None = None
    error: str | None = None
    after: int = 0  # calls answered normally before the fault starts (a 429 in the middle of paging)


@dataclass
class SlackUser:
    id: str
    name: str
    locale: str = "en-US"
    tz: str = "Europe/Paris"
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    title: str = ""

    def as_slack(self, team_id: str, *, include_locale: bool) -> dict[str, Any]:
        """The user object users.info and users.list answer (Slack's shape, the fields Frontline reads)."""
        profile: dict[str, Any] = {"real_name": self.name, "display_name": self.name, "title": self.title}
        if self.email is not None:
            profile["email"] = self.email
        body: dict[str, Any] = {
            "id": self.id, "team_id": team_id, "name": self.name, "real_name": self.name, "deleted": self.deleted,
            "is_bot": self.is_bot, "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted, "tz": self.tz, "tz_label": self.tz, "tz_offset": 0,
            "profile": profile,
        }
        if include_locale:
            body["locale"] = self.locale
        return body


@dataclass
class SlackUserGroup:
    id: str
    handle: str
    name: str
    users: list[str]


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Form-encoded calls carry blocks/view/files as JSON strings; decode them like Slack does."""
    for key in ("blocks", "view", "attachments", "files"):
        value = args.get(key)
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):  # not JSON after all: Slack passes the string on
                args[key] = json.loads(value)
    return args


class LocalSlack:
    """Thread-safe loopback Slack. Use as a context manager or call start()/stop()."""

    def __init__(self, *, bot_token: str = "xoxb-local-frontline", workspace: Workspace | None = None,
                 trigger_ttl: float = 3.0, app_token: str = "xapp-1-A0FRONTLINE-local",
                 files_dir: Path | None = None) -> None:
        self.bot_token = bot_token
        # Where uploaded files are written once complete (the console prints the path); None keeps them in
        # memory only (`uploads[file_id]["content"]`).
        self.files_dir = files_dir
        self.app_token = app_token  # Socket Mode's app-level token, for apps.connections.open only
        self.socket_mode: Any = None  # a localslack.local_socket_mode.LocalSocketMode attaches itself here
        self.workspace = workspace or Workspace()
        self.trigger_ttl = trigger_ttl
        self.calls: list[SlackCall] = []
        self.validation_failures: list[ValidationFailure] = []
        self.users: dict[str, SlackUser] = {}
        self.usergroups: dict[str, SlackUserGroup] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, float] = {}
        self._faults: dict[str, _Fault] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> LocalSlack:
        quiet_slack_sdk_block_warnings()
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise NotStarted("LocalSlack not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """What to give WebClient(base_url=...) / SLACK_API_URL; ends with '/' as slack_sdk requires."""
        return self.root_url + "/api/"

    # ---- scenario helpers -----------------------------------------------------------------
    def add_user(self, user_id: str, name: str, *, locale: str = "en-US", tz: str = "Europe/Paris",
                 is_bot: bool = False, **fields: Any) -> SlackUser:
        """Add (or replace) a user; `fields` are SlackUser's others (email, deleted, is_restricted, title...)."""
        user = SlackUser(user_id, name, locale, tz, is_bot, **fields)
        with self._cond:
            self.users[user_id] = user
        return user

    def add_usergroup(self, handle: str, users: list[str], *, name: str | None = None) -> SlackUserGroup:
        """Add a user group (or set the members of the one with this handle)."""
        with self._cond:
            group = next((g for g in self.usergroups.values() if g.handle == handle), None)
            if group is None:
                group = SlackUserGroup(new_id("S"), handle, name or handle, [])
                self.usergroups[group.id] = group
            group.users = list(users)
        return group

    def new_trigger_id(self) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self._cond:
            self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def new_response_url(self) -> str:
        return f"{self.root_url}/response/{secrets.token_hex(12)}"

    def fail(self, method: str, *, times: int = 1, status: int = 200, retry_after: int | None = None,
             error: str | None = None, after: int = 0) -> None:
        """Make the next `times` calls of `method` fail: status 500, 429 (+Retry-After) or ok=false error;
        with `after`, only once that many calls have been answered normally."""
        if status == 200 and error is None:
            error = "internal_error"
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._cond:
            self._faults[method] = _Fault(times, status, retry_after, error, after)

    # ---- inspection -----------------------------------------------------------------------
    def calls_to(self, method: str | None = None, **match: Any) -> list[SlackCall]:
        with self._cond:
            calls = list(self.calls)
        return [c for c in calls if (method is None or c.method == method) and _matches(c.args, match)]

    def mark(self) -> int:
        """A position in the call log; pass it as `since` to see only what happened afterwards."""
        with self._cond:
            return len(self.calls)

    def calls_since(self, mark: int) -> list[SlackCall]:
        with self._cond:
            return list(self.calls[mark:])

    def wait_for(self, method: str | tuple[str, ...], predicate: Callable[[SlackCall], bool] | None = None, *,
                 timeout: float = 5.0, since: int = 0, **match: Any) -> SlackCall:
        """Block until a matching call arrives (woken by each call, no polling); NotSeen on timeout. `method`
        may be several: the first call of any of them."""
        deadline = time.monotonic() + timeout
        methods = (method,) if isinstance(method, str) else method
        with self._cond:
            while True:
                for call in self.calls[since:]:
                    if call.method in methods and _matches(call.args, match) and (predicate is None or predicate(call)):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls[since:]]
                    raise NotSeen(f"no {method} call matching {match} within {timeout}s; saw {seen}")
                self._cond.wait(remaining)

    def assert_valid(self) -> None:
        with self._cond:
            failures = list(self.validation_failures)
        if failures:
            raise InvalidPayloads("invalid Slack payloads: " + "; ".join(f"{f.method}: {f.problem}" for f in failures))

    # ---- request handling (called from server threads) -------------------------------------
    def _record(self, method: str, args: dict[str, Any], status: int, response: dict[str, Any],
                problems: list[str]) -> None:
        with self._cond:
            self.calls.append(SlackCall(method, args, time.time(), status, response))
            self.validation_failures.extend(ValidationFailure(method, p) for p in problems)
            self._cond.notify_all()

    def _take_fault(self, method: str) -> _Fault | None:
        with self._cond:
            fault = self._faults.get(method)
            if fault is None:
                return None
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[method]
            return fault

    def handle_api(self, method: str, args: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        args = _decode_json_args(args)
        fault = self._take_fault(method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            body = {"ok": False, "error": "ratelimited" if fault.status == 429 else (fault.error or "fatal_error")}
            self._record(method, args, fault.status, body, [])
            return fault.status, body, headers
        problems: list[str] = []
        if token != (self.app_token if method in _APP_TOKEN_METHODS else self.bot_token):
            body = {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        else:
            answer = _METHODS.get(method)
            if answer is None:
                problems.append(f"method {method} is not answered by the local stand-in")
                body = {"ok": False, "error": "unknown_method"}
            else:
                body = answer(self, args, problems)
        self._record(method, args, 200, body, problems)
        return 200, body, {}

    def handle_response_url(self, path: str, args: dict[str, Any]) -> tuple[int, str]:
        args = _decode_json_args(dict(args, response_url=path))
        fault = self._take_fault(RESPONSE_URL_METHOD)
        if fault is not None:
            self._record(RESPONSE_URL_METHOD, args, fault.status if fault.status != 200 else 404, {"ok": False}, [])
            return (fault.status if fault.status != 200 else 404), "error"
        problems = check_message_payload(args, require_text=False)
        self._record(RESPONSE_URL_METHOD, args, 200, {"ok": True}, problems)
        return 200, "ok"

    def record_command_response(self, args: dict[str, Any]) -> None:
        """The message a slash command's ack carried (the driver and the Socket Mode stand-in call this)."""
        self._record(COMMAND_RESPONSE_METHOD, dict(args), 200, {"ok": True},
                     check_message_payload(args, require_text=False))

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        with self._cond:
            known = file_id in self.uploads
            if known:
                self.uploads[file_id]["content"] = data
        self._record("files.upload_url", {"file_id": file_id, "bytes": len(data)}, 200 if known else 404,
                     {"ok": known}, [] if known else [f"upload to unknown file id {file_id}"])
        return (200, f"OK - {len(data)}") if known else (404, "not found")

    def trigger_problem(self, trigger_id: str | None) -> str | None:
        with self._cond:
            issued = self._triggers.get(trigger_id or "")
        if issued is None:
            return "invalid_trigger_id"
        if time.monotonic() - issued > self.trigger_ttl:
            return "expired_trigger_id"
        return None


def _matches(args: dict[str, Any], match: dict[str, Any]) -> bool:
    return all(args.get(k) == v for k, v in match.items())


def _now_ts() -> str:
    return f"{time.time():.6f}"


# ---- Web API method answers --------------------------------------------------------------------

def _post_message(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    channel = args.get("channel")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    problems.extend(check_message_payload(args))
    if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
        return {"ok": False, "error": "no_text"}
    ts = _now_ts()
    message = {"type": "message", "user": slack.workspace.bot_user_id, "bot_id": "B0FRONTBOT", "ts": ts,
               "text": args.get("text", ""), "blocks": args.get("blocks", [])}
    if args.get("thread_ts"):
        message["thread_ts"] = args["thread_ts"]
    with slack._cond:
        slack.messages[(channel, ts)] = message
    return {"ok": True, "channel": channel, "ts": ts, "message": message}


def _post_ephemeral(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    if not args.get("channel") or not args.get("user"):
        return {"ok": False, "error": "invalid_arguments"}
    if args["user"] not in slack.users:
        return {"ok": False, "error": "user_not_found"}
    problems.extend(check_message_payload(args))
    return {"ok": True, "message_ts": _now_ts()}


def _update(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    key = (args.get("channel", ""), str(args.get("ts", "")))
    with slack._cond:
        message = slack.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        problems.extend(check_message_payload(args))
        message.update({k: args[k] for k in ("text", "blocks") if k in args})
    return {"ok": True, "channel": key[0], "ts": key[1], "text": message.get("text", ""), "message": message}


def _delete(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    key = (args.get("channel", ""), str(args.get("ts", "")))
    with slack._cond:
        if slack.messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
    return {"ok": True, "channel": key[0], "ts": key[1]}


def _stored_view(slack: LocalSlack, view: dict[str, Any], view_id: str | None = None,
                 previous: dict[str, Any] | None = None) -> dict[str, Any]:
    stored = dict(view)
    stored.update({
        "id": view_id or new_id("V"),
        "team_id": slack.workspace.team_id,
        "app_id": slack.workspace.api_app_id,
        "bot_id": "B0FRONTBOT",
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "state": {"values": {}},
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "root_view_id": (previous or {}).get("root_view_id") or view_id,
        "previous_view_id": None,
    })
    if stored["root_view_id"] is None:
        stored["root_view_id"] = stored["id"]
    return stored


def _open_or_push(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    trigger_error = slack.trigger_problem(args.get("trigger_id"))
    if trigger_error:
        return {"ok": False, "error": trigger_error}
    view_problems = check_view(view)
    if view_problems:
        problems.extend(view_problems)
        return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": view_problems}}
    stored = _stored_view(slack, view)
    with slack._cond:
        slack.views[stored["id"]] = stored
    return {"ok": True, "view": stored}


def _views_update(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    with slack._cond:
        view_id = args.get("view_id") or next(
            (v["id"] for v in slack.views.values() if args.get("external_id") and v.get("external_id") == args.get("external_id")),
            None,
        )
        previous = slack.views.get(view_id or "")
    if previous is None:
        return {"ok": False, "error": "not_found"}
    if args.get("hash") and args["hash"] != previous.get("hash"):
        return {"ok": False, "error": "hash_conflict"}
    view_problems = check_view(view)
    if view_problems:
        problems.extend(view_problems)
        return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": view_problems}}
    stored = _stored_view(slack, view, previous["id"], previous)
    with slack._cond:
        slack.views[stored["id"]] = stored
    return {"ok": True, "view": stored}


def _views_publish(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    view = args.get("view")
    user_id = args.get("user_id")
    if not isinstance(view, dict) or not user_id:
        return {"ok": False, "error": "invalid_arguments"}
    if view.get("type") != "home":
        problems.append("views.publish needs a view of type 'home'")
        return {"ok": False, "error": "invalid_arguments"}
    view_problems = check_view(view)
    if view_problems:
        problems.extend(view_problems)
        return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": view_problems}}
    with slack._cond:
        previous = slack.home_views.get(user_id)
        stored = _stored_view(slack, view, previous["id"] if previous else None)
        slack.home_views[user_id] = stored
        slack.views[stored["id"]] = stored
    return {"ok": True, "view": stored}


def _conversations_open(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    users = str(args.get("users", "")).split(",")
    if not users or not users[0]:
        return {"ok": False, "error": "users_list_not_supplied"}
    return {"ok": True, "channel": {"id": "D" + users[0].lstrip("UW")[:10]}}


def _users_info(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    user = slack.users.get(str(args.get("user", "")))
    if user is None:
        return {"ok": False, "error": "user_not_found"}
    return {"ok": True, "user": user.as_slack(slack.workspace.team_id, include_locale=_flag(args, "include_locale"))}


def _flag(args: dict[str, Any], name: str) -> bool:
    return str(args.get(name, "")).lower() in ("1", "true")


def _users_list(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Slack's paging: `limit` people per page (Slack caps it at 1,000), an opaque `next_cursor`, "" at the end."""
    try:
        limit = int(args.get("limit") or 0)
    except ValueError:
        return {"ok": False, "error": "invalid_limit"}
    if limit <= 0 or limit > 1000:
        limit = 1000 if limit > 1000 else 100  # Slack's own cap, and its page when no limit is given
    cursor = str(args.get("cursor") or "")
    try:
        start = int(cursor.removeprefix("dXNlcjo"), 10) if cursor else 0
    except ValueError:
        return {"ok": False, "error": "invalid_cursor"}
    with slack._cond:
        users = list(slack.users.values())
    page = users[start:start + limit]
    more = start + limit < len(users)
    team_id = slack.workspace.team_id
    include_locale = _flag(args, "include_locale")
    return {"ok": True, "members": [user.as_slack(team_id, include_locale=include_locale) for user in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": f"dXNlcjo{start + limit}" if more else ""}}


def _usergroups_list(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    with slack._cond:
        groups = list(slack.usergroups.values())
    listed = []
    for group in groups:
        body: dict[str, Any] = {"id": group.id, "team_id": slack.workspace.team_id, "handle": group.handle,
                                "name": group.name, "is_usergroup": True, "user_count": len(group.users)}
        if _flag(args, "include_users"):
            body["users"] = list(group.users)
        listed.append(body)
    return {"ok": True, "usergroups": listed}


def _usergroups_users_list(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    with slack._cond:
        group = slack.usergroups.get(str(args.get("usergroup", "")))
        users = list(group.users) if group else None
    if users is None:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": users}


def _auth_test(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    ws = slack.workspace
    return {"ok": True, "url": f"https://{ws.team_domain}.slack.com/", "team": "Frontline (local)",
            "user": "frontline", "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": "B0FRONTBOT",
            "is_enterprise_install": False}


def _get_upload_url(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    if not args.get("filename") or not str(args.get("length", "")).isdigit():
        return {"ok": False, "error": "invalid_arguments"}
    file_id = new_id("F")
    with slack._cond:
        slack.uploads[file_id] = {"filename": args["filename"], "length": int(args["length"]), "content": None}
    return {"ok": True, "upload_url": f"{slack.root_url}/upload/{file_id}", "file_id": file_id}


def _complete_upload(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    files = args.get("files")
    if not isinstance(files, list) or not files:
        return {"ok": False, "error": "invalid_arguments"}
    done = []
    with slack._cond:
        for f in files:
            upload = slack.uploads.get(f.get("id", ""))
            if upload is None or upload["content"] is None:
                problems.append(f"completeUploadExternal for file {f.get('id')} that was never uploaded")
                return {"ok": False, "error": "file_not_found"}
            upload.update(title=f.get("title"), channel_id=args.get("channel_id"))
            if slack.files_dir is not None:
                upload["path"] = _save(slack.files_dir, f["id"], upload["filename"], upload["content"])
            done.append({"id": f["id"], "name": upload["filename"], "title": f.get("title") or upload["filename"],
                         "size": len(upload["content"])})
    return {"ok": True, "files": done}


def _connections_open(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    if slack.socket_mode is None:
        problems.append("apps.connections.open called but no LocalSocketMode is attached")
        return {"ok": False, "error": "internal_error"}
    return {"ok": True, "url": slack.socket_mode.new_url()}


def _save(folder: Path, file_id: str, filename: str, content: bytes) -> str:
    """Write an uploaded file as `<file id>-<name>`; the name is the bot's, so keep only its last part."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_id}-{Path(filename).name or 'file'}"
    path.write_bytes(content)
    return str(path)


def _assistant_thread(args: dict[str, Any], problems: list[str], method: str) -> dict[str, Any] | None:
    """The checks Slack makes on every assistant.threads.* call: a DM channel and a thread."""
    channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
    if not channel or not thread_ts:
        return {"ok": False, "error": "invalid_arguments"}
    if not str(channel).startswith("D"):
        problems.append(f"{method} works in the DM of an assistant thread only, not in {channel}")
        return {"ok": False, "error": "channel_not_found"}
    return None


def _assistant_set_status(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    refused = _assistant_thread(args, problems, "assistant.threads.setStatus")
    if refused is None and not isinstance(args.get("status"), str):
        return {"ok": False, "error": "invalid_arguments"}
    return refused or {"ok": True}


def _assistant_set_suggested_prompts(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    refused = _assistant_thread(args, problems, "assistant.threads.setSuggestedPrompts")
    if refused is not None:
        return refused
    prompts = args.get("prompts")
    if isinstance(prompts, str):  # form-encoded calls send it as JSON text
        try:
            prompts = json.loads(prompts)
        except ValueError:
            prompts = None
    if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4 or not all(
            isinstance(p, dict) and isinstance(p.get("title"), str) and isinstance(p.get("message"), str)
            for p in prompts):
        problems.append("assistant.threads.setSuggestedPrompts needs 1 to 4 prompts, each with a title and a message")
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True}


def _assistant_set_title(slack: LocalSlack, args: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    refused = _assistant_thread(args, problems, "assistant.threads.setTitle")
    if refused is None and not isinstance(args.get("title"), str):
        return {"ok": False, "error": "invalid_arguments"}
    return refused or {"ok": True}


_APP_TOKEN_METHODS = ("apps.connections.open",)

_METHODS: dict[str, Callable[[LocalSlack, dict[str, Any], list[str]], dict[str, Any]]] = {
    "chat.postMessage": _post_message,
    "chat.postEphemeral": _post_ephemeral,
    "chat.update": _update,
    "chat.delete": _delete,
    "views.open": _open_or_push,
    "views.push": _open_or_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "conversations.open": _conversations_open,
    "users.info": _users_info,
    "users.list": _users_list,
    "usergroups.list": _usergroups_list,
    "usergroups.users.list": _usergroups_users_list,
    "auth.test": _auth_test,
    "files.getUploadURLExternal": _get_upload_url,
    "files.completeUploadExternal": _complete_upload,
    "apps.connections.open": _connections_open,
    "assistant.threads.setStatus": _assistant_set_status,
    "assistant.threads.setSuggestedPrompts": _assistant_set_suggested_prompts,
    "assistant.threads.setTitle": _assistant_set_title,
}


def _make_handler(slack: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _args(self, raw: bytes) -> dict[str, Any]:
            parsed = urlparse(self.path)
            args: dict[str, Any] = dict(parse_qsl(parsed.query))
            content_type = self.headers.get("Content-Type", "")
            if "json" in content_type and raw:
                args.update(json.loads(raw))
            elif raw:
                args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            return args

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlparse(self.path).path
            if path.startswith("/api/"):
                args = self._args(raw)
                auth = self.headers.get("Authorization", "")
                token = auth[len("Bearer "):] if auth.startswith("Bearer ") else args.pop("token", None)
                status, body, headers = slack.handle_api(path[len("/api/"):], args, token)
                self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)
            elif path.startswith("/response/"):
                status, text = slack.handle_response_url(path, self._args(raw))
                self._send(status, text.encode(), "text/plain")
            elif path.startswith("/upload/"):
                status, text = slack.handle_upload(path[len("/upload/"):], raw)
                self._send(status, text.encode(), "text/plain")
            else:
                self._send(404, b"not found", "text/plain")

        do_GET = do_POST

    return Handler
