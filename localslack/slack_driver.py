"""Acting as Slack towards the bot: signed requests sent like a user's clicks would be.

Shared by `frontline-console` and the tests. A transport delivers a signed request either
over real HTTP (`HttpTransport`) or straight into the WSGI app in-process (`WsgiTransport`); the local
Slack stand-in issues trigger ids and response URLs and records what the bot sends back.
"""

from __future__ import annotations

import http.client
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Mapping
from urllib.parse import urlparse

from localslack import slack_requests as sr
from localslack.local_slack import COMMAND_RESPONSE_METHOD, RESPONSE_URL_METHOD, LocalSlack, SlackCall


@dataclass
class Reply:
    """The bot's HTTP answer to one request (`elapsed` = time to the response, i.e. the ack)."""

    status: int
    body: str
    elapsed: float
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class HttpTransport:
    def __init__(self, base_url: str, path: str = "/slack/events") -> None:
        parsed = urlparse(base_url)
        self.host, self.port, self.path = parsed.hostname or "127.0.0.1", parsed.port or 80, path

    def send(self, body: str, headers: Mapping[str, str]) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        started = time.perf_counter()
        try:
            connection.request("POST", self.path, body=body.encode("utf-8"), headers=dict(headers))
            response = connection.getresponse()
            data = response.read().decode("utf-8", errors="replace")
            elapsed = time.perf_counter() - started
            return Reply(response.status, data, elapsed, {k.lower(): v for k, v in response.getheaders()})
        finally:
            connection.close()


class WsgiTransport:
    """Calls the WSGI app directly: what the console uses (no port to open)."""

    def __init__(self, wsgi_app: Callable, path: str = "/slack/events") -> None:
        self.wsgi_app, self.path = wsgi_app, path

    def send(self, body: str, headers: Mapping[str, str]) -> Reply:
        raw = body.encode("utf-8")
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": self.path, "QUERY_STRING": "", "SERVER_NAME": "console",
            "SERVER_PORT": "0", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(raw),
            "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(raw)),
            "CONTENT_TYPE": headers.get("Content-Type", ""),
        }
        for key, value in headers.items():
            if key.lower() != "content-type":
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        captured: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = {k.lower(): v for k, v in response_headers}

        started = time.perf_counter()
        data = b"".join(self.wsgi_app(environ, start_response))
        return Reply(captured["status"], data.decode("utf-8", errors="replace"), time.perf_counter() - started,
                     captured["headers"])


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the interactive element with this action_id."""
    for block in blocks or []:
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        candidates += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    return None


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    for option in options:
        if option.get("value") == value or (option.get("text") or {}).get("text") == value:
            return option
    return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The state value Slack reports for an element holding `value` (text, option value, date...)."""
    kind = element.get("type", "plain_text_input")
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = None if value is None else str(value)
    elif kind in ("static_select", "external_select", "radio_buttons", "overflow"):
        state["selected_option"] = None if value is None else _option(element, value)
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        state["selected_options"] = [_option(element, v) for v in (value or [])]
    elif kind == "datepicker":
        state["selected_date"] = value
    elif kind == "timepicker":
        state["selected_time"] = value
    elif kind == "datetimepicker":
        state["selected_date_time"] = value
    elif kind == "users_select":
        state["selected_user"] = value
    elif kind == "multi_users_select":
        state["selected_users"] = list(value or [])
    elif kind in ("conversations_select", "channels_select"):
        state["selected_conversation" if kind == "conversations_select" else "selected_channel"] = value
    else:
        state["value"] = value
    return state


INITIAL_KEYS = ("initial_value", "initial_option", "initial_options", "initial_date", "initial_time",
                "initial_date_time", "initial_user", "initial_users", "initial_conversation", "initial_channel")


def view_state(view: dict[str, Any], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Slack's view.state.values from {action_id: value}; inputs not named keep their initial value."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        action_id = element.get("action_id", "")
        if action_id in values:
            value = values[action_id]
        else:  # Slack reports what the element shows: its initial value, if any
            value = next((element[k] for k in INITIAL_KEYS if element.get(k) is not None), None)
        state.setdefault(block.get("block_id", ""), {})[action_id] = element_state(element, value)
    unknown = set(values) - {a for b in state.values() for a in b}
    if unknown:
        raise KeyError(f"no input with action_id {sorted(unknown)} in view {view.get('callback_id')!r}")
    return state


def surface_of(target: SlackCall | Mapping[str, Any]) -> dict[str, Any]:
    """What a user sees from a recorded call: {'view': ...} or {'message': ..., 'channel_id', 'ephemeral'}."""
    if isinstance(target, SlackCall):
        if "view" in target.response:
            return {"view": target.response["view"]}
        if isinstance(target.args.get("view"), dict):
            return {"view": target.args["view"]}
        ts = target.response.get("ts") or target.response.get("message_ts") or sr.message_ts()
        ephemeral = target.method == "chat.postEphemeral" or (
            target.method in (RESPONSE_URL_METHOD, COMMAND_RESPONSE_METHOD)
            and target.args.get("response_type", "ephemeral") == "ephemeral")
        message = {"type": "message", "ts": ts, "text": target.args.get("text", ""), "blocks": target.args.get("blocks", [])}
        return {"message": message, "channel_id": target.args.get("channel") or "C0GENERAL", "ephemeral": ephemeral}
    if target.get("type") in ("modal", "home"):
        return {"view": dict(target)}
    return {"message": dict(target), "channel_id": target.get("channel", "C0GENERAL"), "ephemeral": False}


class SlackDriver:
    """Sends what Slack would send when a user acts; every method returns the bot's HTTP `Reply`.

    With `settle` (a callable waiting for the bot's background listeners), each method also waits until
    the bot has finished reacting, so the calls it made are in `slack.calls` when the method returns.
    """

    def __init__(self, transport, slack: LocalSlack, signing_secret: str, *,
                 settle: Callable[[], Any] | None = None, workspace: sr.Workspace | None = None) -> None:
        self.transport, self.slack, self.signing_secret = transport, slack, signing_secret
        self.settle_hook = settle
        self.workspace = workspace or slack.workspace

    # ---- raw ------------------------------------------------------------------------------
    def send(self, body: str, content_type: str, *, settle: bool = True, timestamp: int | None = None,
             secret: str | None = None, signed: bool = True) -> Reply:
        if signed:
            headers = sr.sign(body, content_type, secret or self.signing_secret, timestamp=timestamp).headers
        else:
            headers = {"Content-Type": content_type}
        reply = self.transport.send(body, headers)
        if settle:
            self.settle()
        return reply

    def settle(self) -> None:
        if self.settle_hook is not None:
            self.settle_hook()

    def _interactive(self, payload: dict[str, Any], settle: bool) -> Reply:
        return self.send(sr.payload_form(payload), sr.FORM, settle=settle)

    def _name(self, user: str) -> str:
        known = self.slack.users.get(user)
        return known.name.split()[0].lower() if known else user.lower()

    # ---- what users do ---------------------------------------------------------------------
    def command(self, command: str, text: str = "", *, user: str, channel_id: str = "C0GENERAL",
                channel_name: str = "general", settle: bool = True) -> Reply:
        body = sr.slash_command_body(
            self.workspace, command=command, text=text, user_id=user, user_name=self._name(user),
            channel_id=channel_id, channel_name=channel_name, response_url=self.slack.new_response_url(),
            trigger_id=self.slack.new_trigger_id())
        reply = self.send(body, sr.FORM, settle=settle)
        shown = reply.json
        if reply.status == 200 and isinstance(shown, dict) and ("text" in shown or "blocks" in shown):
            self.slack.record_command_response(shown)  # Slack shows the ack's message, as a response_url post
        return reply

    def click(self, action_id: str, *, user: str, on: SlackCall | Mapping[str, Any], value: Any = None,
              settle: bool = True, state: Mapping[str, Any] | None = None) -> Reply:
        """Press a button / choose `value` in a select, overflow, datepicker... found by action_id on `on`."""
        surface = surface_of(on)
        container = surface.get("view") or surface["message"]
        found = find_element(container.get("blocks") or [], action_id)
        if found is None:
            raise KeyError(f"no element with action_id {action_id!r} on this surface")
        block_id, element = found
        action = {"action_id": action_id, "block_id": block_id, "type": element.get("type")}
        if element.get("type") == "button":
            action.update(text=element.get("text"), value=element.get("value"))
            if element.get("style"):
                action["style"] = element["style"]
        else:
            action.update({k: v for k, v in element_state(element, value).items() if k != "type"})
        view = surface.get("view")
        if view is not None and state is not None:
            view = dict(view, state={"values": view_state(view, state)})
        payload = sr.block_actions_payload(
            self.workspace, user_id=user, user_name=self._name(user), action=action,
            trigger_id=self.slack.new_trigger_id(), response_url=self.slack.new_response_url(),
            channel_id=surface.get("channel_id"), message=surface.get("message"), view=view,
            is_ephemeral=surface.get("ephemeral", False))
        return self._interactive(payload, settle)

    def submit(self, view: SlackCall | Mapping[str, Any], values: Mapping[str, Any] | None = None, *, user: str,
               settle: bool = True) -> Reply:
        """Submit a modal with {action_id: value} filled in (see element_state for value shapes)."""
        shown = surface_of(view)["view"]
        payload = sr.view_submission_payload(self.workspace, user_id=user, user_name=self._name(user), view=shown,
                                             state_values=view_state(shown, values or {}),
                                             trigger_id=self.slack.new_trigger_id())
        return self._interactive(payload, settle)

    def close(self, view: SlackCall | Mapping[str, Any], *, user: str, settle: bool = True) -> Reply:
        shown = surface_of(view)["view"]
        return self._interactive(sr.view_closed_payload(self.workspace, user_id=user, view=shown), settle)

    def message_shortcut(self, callback_id: str, *, user: str, message: Mapping[str, Any],
                         channel_id: str = "C0GENERAL", settle: bool = True) -> Reply:
        payload = sr.message_shortcut_payload(
            self.workspace, callback_id=callback_id, user_id=user, user_name=self._name(user), channel_id=channel_id,
            message=message, trigger_id=self.slack.new_trigger_id(), response_url=self.slack.new_response_url())
        return self._interactive(payload, settle)

    def global_shortcut(self, callback_id: str, *, user: str, settle: bool = True) -> Reply:
        payload = sr.global_shortcut_payload(self.workspace, callback_id=callback_id, user_id=user,
                                             user_name=self._name(user), trigger_id=self.slack.new_trigger_id())
        return self._interactive(payload, settle)

    def suggest(self, action_id: str, typed: str, *, user: str, on: SlackCall | Mapping[str, Any]) -> Reply:
        """An external select asking for options; the options are in `reply.json['options']`."""
        surface = surface_of(on)
        container = surface.get("view") or surface["message"]
        found = find_element(container.get("blocks") or [], action_id)
        block_id = found[0] if found else ""
        payload = sr.block_suggestion_payload(
            self.workspace, user_id=user, user_name=self._name(user), action_id=action_id, block_id=block_id,
            value=typed, view=surface.get("view"), channel_id=surface.get("channel_id"), message=surface.get("message"))
        return self._interactive(payload, settle=False)

    def event(self, event: Mapping[str, Any], *, settle: bool = True, event_id: str | None = None) -> Reply:
        envelope = sr.event_envelope(self.workspace, event, event_id=event_id)
        return self.send(json.dumps(envelope), sr.JSON, settle=settle)

    def dm(self, text: str, *, user: str, settle: bool = True, thread_ts: str | None = None) -> Reply:
        """A message in the user's DM with the app; with `thread_ts`, in that thread (an assistant thread too)."""
        channel = "D" + user.lstrip("UW")[:10]
        return self.event(sr.im_message_event(user_id=user, text=text, channel_id=channel, thread_ts=thread_ts),
                          settle=settle)

    def start_assistant_thread(self, *, user: str, settle: bool = True) -> tuple[str, Reply]:
        """The user opens a new thread in Slack's assistant surface: (the thread's ts, the bot's reply)."""
        thread_ts = sr.message_ts()
        channel = "D" + user.lstrip("UW")[:10]
        event = sr.assistant_thread_started_event(user_id=user, channel_id=channel, thread_ts=thread_ts)
        return thread_ts, self.event(event, settle=settle)

    def mention(self, text: str, *, user: str, channel_id: str = "C0GENERAL", settle: bool = True,
                thread_ts: str | None = None) -> Reply:
        event = sr.app_mention_event(user_id=user, text=text, channel_id=channel_id,
                                     bot_user_id=self.workspace.bot_user_id, thread_ts=thread_ts)
        return self.event(event, settle=settle)

    def open_home(self, *, user: str, settle: bool = True) -> Reply:
        channel = "D" + user.lstrip("UW")[:10]
        return self.event(sr.app_home_opened_event(user_id=user, channel_id=channel), settle=settle)

    def url_verification(self, challenge: str) -> Reply:
        return self.send(json.dumps(sr.url_verification_body(self.workspace, challenge)), sr.JSON, settle=False)
