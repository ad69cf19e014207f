"""The one place the Slack app is built.

Listeners receive `session_factory`, `settings`, `clock` and `employee` by name (bolt injects context
entries as keyword arguments), so no listener imports a global.

Acks: the app runs with process_before_response=False, so `ack()` sends the HTTP response at once and
the rest of the listener runs on the app's thread pool in the same process. Behind gunicorn that holds
for every worker: each worker builds its own App (and thread pool, DB engine) after the fork, which is
why the app is never built in the master (no preload). Lazy listeners exist for FaaS, where the process
may freeze after the response; in a long-running server they would only add a hop, so we don't use them.
`/customer` calls `ack()` last, with its answer, when the lookup is quick (handlers.lookup.commands): the
HTTP response waits for it, at most FRONTLINE_ANSWER_IN_ACK_SECONDS.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from collections.abc import Callable, Sequence
from urllib.error import URLError

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.middleware.request_verification import RequestVerification
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.access import access_middleware
from bot.ack_wait import AckWaitingRunner, SignallingAck
from bot.config import ConfigError, Settings
from bot.dedupe import deduplicate_events
from bot.logs import LibraryBodyFilter
from bot.metrics import SLACK_ERRORS
from bot.scheduler import DigestSender
from bot.web import request_kind
from handlers.conversation import listeners as conversation_listeners
from handlers.digest import commands as digest_commands
from handlers.directory import events as directory_events
from handlers.followups import views as followups_views
from handlers.home import views as home_views
from handlers.interactions import views as interactions_views
from handlers.kpi import commands as kpi_commands
from handlers.lookup import commands as lookup_commands
from handlers.profile import actions as profile_actions
from handlers.review import actions as review_actions
from handlers.review import commands as review_commands
from handlers.sharing import actions as sharing_actions
from handlers.i18n import t
from handlers.notices import deliver_notice, request_user_id
from handlers.payloads import MalformedPayload, envelope_problem
from store.clock import Clock, utc_now
from store.errors import Refused

log = logging.getLogger(__name__)

Feature = Callable[[App], None]

# Each listener module's register(app). Append yours here (one line, keep the order stable: bolt runs the
# first listener that matches, so an earlier one wins a shared id). Imported from the modules themselves, not
# through the feature packages: a package __init__ importing its listeners would tie packages that use each
# other's pieces (home draws follow-ups, the follow-up buttons redraw home) into an import cycle.
FEATURES: list[Feature] = [
    # First: bolt tries listeners in this order, and `/customer` is the busiest request (each listener
    # tried before it costs a matcher call with its keyword arguments built). A command's matcher only
    # takes that command, so the order changes no routing.
    lookup_commands.register,
    interactions_views.register,
    followups_views.register,
    home_views.register,
    conversation_listeners.register,  # DMs and @mentions are conversations (handlers.conversation)
    profile_actions.register,
    digest_commands.register,
    kpi_commands.register,
    sharing_actions.register,
    directory_events.register,
    review_commands.register,
    review_actions.register,
]




class QuietRequestVerification(RequestVerification):
    """Bolt's signature check, kept behind bot.web's as a second lock, minus bolt's log line on failure:
    it quotes the whole request body (customer names, e-mails, phones typed in a command)."""

    def _debug_log_error(self, signature, timestamp, body) -> None:
        # A warning: bot.web refuses these first, so reaching this line means a path around bot.web.
        self.logger.warning("request refused by bolt: bad signature (%s bytes)", len(body or ""))


class FrontlineApp(App):
    """What no listener handles is still acknowledged with 200: bolt's default 404 makes Slack retry
    events (and eventually disable the subscription) and show an error for commands and clicks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signing_secret: str = kwargs.get("signing_secret") or ""
        # Bolt builds its own RequestVerification; swap in the one that does not log bodies.
        self._middleware_list = [
            QuietRequestVerification(self.signing_secret, base_logger=self._base_logger)
            if type(middleware) is RequestVerification else middleware
            for middleware in self._middleware_list
        ]
        # The request thread sleeps until the listener acks, instead of bolt's 10 ms polling (bot.ack_wait).
        self._listener_runner = AckWaitingRunner.replacing(self._listener_runner)

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        req.context["ack"] = SignallingAck()
        return super().dispatch(req)

    def _handle_unmatched_requests(self, req, resp):
        self._framework_logger.debug("no listener for this request; acknowledged")
        return BoltResponse(status=200, body="")


def make_client(settings: Settings) -> WebClient:
    kwargs: dict[str, Any] = {"token": settings.slack_bot_token, "timeout": 10}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    client = WebClient(**kwargs)
    # Bounded retries, so a listener never hangs and never crashes on Slack trouble: on 429 wait Slack's
    # Retry-After; a 5xx or a dropped connection is retried with exponential backoff and jitter.
    client.retry_handlers[:] = [ConnectionErrorRetryHandler(max_retry_count=2),
                                RateLimitErrorRetryHandler(max_retry_count=2),
                                ServerErrorRetryHandler(max_retry_count=2)]
    return client


def _bolt_logger() -> logging.Logger:
    """Bolt copies a level onto each of its loggers when the app is built (the root's, by default): at
    DEBUG it would log whole request and response bodies, i.e. customer data. Its loggers take this
    one's level instead, never below INFO."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    bolt_logger.setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    # Bolt copies this logger's filters onto each logger it creates: none of them can write a request
    # body (unhandled request, a middleware that did not call next...), whatever handler is attached.
    if not any(isinstance(f, LibraryBodyFilter) for f in bolt_logger.filters):
        bolt_logger.addFilter(LibraryBodyFilter())
    return bolt_logger


def build_app(
    settings: Settings,
    session_factory,
    *,
    clock: Clock = utc_now,
    client: WebClient | None = None,
    features: Sequence[Feature] | None = None,
    listener_executor: ThreadPoolExecutor | None = None,
) -> App:
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    client = client or make_client(settings)
    try:
        app = FrontlineApp(
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            process_before_response=False,
            listener_executor=listener_executor or ThreadPoolExecutor(max_workers=16, thread_name_prefix="listener"),
            request_verification_enabled=bool(settings.slack_signing_secret),
            # Runs right after the signature check, before bolt's own middleware and matchers index the body.
            before_authorize=PayloadGate(),
            # We answer unmatched requests ourselves (ack); bolt's default 404 would make Slack show an error.
            raise_error_for_unhandled_request=False,
            logger=_bolt_logger(),
        )
    except Exception as error:  # bolt raises BoltError when auth.test rejects the token
        raise ConfigError(f"SLACK_BOT_TOKEN was rejected by Slack: {error}") from None

    app.use(RequestSetup(settings, session_factory, clock))
    app.error(on_listener_error)
    for register in FEATURES if features is None else features:
        register(app)
    return app


# The database is busy (another process holds SQLite's write lock), down or out of connections: the
# request changed nothing and the employee can try again. Any listener, reading or writing, that lets
# one of these escape gets that message instead of the generic one.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


class PayloadGate(Middleware):
    """A signed body bolt could not route safely is acked quietly (Slack shows nothing), with the reason
    logged: its shape, never its content.

    A Middleware subclass on purpose: for a function middleware (and for the error handler) bolt first
    builds every keyword argument it could inject (`action` is `body["actions"][0]`...), which is
    exactly what crashes on such a body. Installed as `before_authorize`, it runs right after the
    signature check and before anything else reads the body.
    """

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        problem = envelope_problem(req.body)
        if problem is None:
            return next()
        log.info("ignored a malformed %s request: %s", request_kind(req.body), problem)
        return BoltResponse(status=200, body="")


class RequestSetup(Middleware):
    """Every request's global middleware, in order: its dependencies put into the context (listeners receive
    `session_factory`, `settings`, `clock`... by name), the access check (bot.access), then dropping
    redelivered events (bot.dedupe).

    One Middleware subclass instead of three function middlewares: for each function middleware bolt
    inspects its signature and builds its keyword arguments on every request.
    """

    def __init__(self, settings: Settings, session_factory, clock: Clock) -> None:
        self.settings, self.session_factory, self.clock = settings, session_factory, clock

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        context = req.context
        context["session_factory"] = self.session_factory
        context["settings"] = self.settings
        context["clock"] = self.clock
        client = context.client
        # `/digest now` sends through the scheduler's machinery, which lives up here in `bot`.
        context["send_digest_now"] = lambda employee_id: DigestSender(
            self.settings, self.session_factory, client, self.clock, configure_client=False).send_now(employee_id)
        passed: list[bool] = []

        def step_done() -> None:
            passed.append(True)

        answer = access_middleware(req.body, context, client, context.respond, step_done)
        if not passed:
            return answer if answer is not None else BoltResponse(status=200, body="")
        passed.clear()
        answer = deduplicate_events(req.body, context, step_done)
        if not passed:
            return answer if answer is not None else BoltResponse(status=200, body="")
        return next()


def on_listener_error(error: Exception, body: dict, context, client, respond) -> BoltResponse | None:
    """A listener (or middleware) failed: answer the employee, and log it without PII.

    - a payload whose shape a listener cannot act on (MalformedPayload): a quiet ack, one short line;
    - a refusal of the domain (store.errors.Refused): its message, in the employee's language, where the
      request allows (an ephemeral reply, or a notice: handlers.notices); logged by its key only, since
      its parameters may quote what was typed;
    - the database unavailable or busy: "not reachable, nothing was lost, try again", one short line;
    - anything else is a bug: the generic message with a short reference, logged with the traceback's
      frames under the same reference. Exception messages can carry customer data (SQL parameters,
      names), so only the exception's type is logged, never its message.
    """
    kind, user_id = request_kind(body), request_user_id(body)
    if isinstance(error, MalformedPayload):
        log.info("ignored a malformed %s request from %s: %s", kind, user_id, error.reason)
        return BoltResponse(status=200, body="") if context.ack.response is None else None
    employee = context.get("employee")
    settings = context.get("settings")
    locale = employee.locale if employee else (settings.default_locale if settings else "en")
    if isinstance(error, Refused):
        log.info("refused a %s request from %s: %s", kind, user_id, error.key)
        text = t(error.key, locale, **error.params)
        if context.ack.response is None:
            return deliver_notice(body, client, respond, text, locale)
        if "command" in body:  # acked already: deliver_notice's answer would be the ack
            respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            deliver_notice(body, client, respond, text, locale)
        return None
    if isinstance(error, DATABASE_UNAVAILABLE):
        SLACK_ERRORS.labels("database").inc()
        log.warning("database unavailable during a %s request from %s (%s)", kind, user_id, type(error).__name__)
        text = t("common.db_unavailable", locale)
    elif isinstance(error, (SlackClientError, URLError)):
        # Slack refused a call (an expired trigger_id, a closed channel) or could not be reached after the
        # client's retries: not a bug here. Slack's error code is its own vocabulary, never our data.
        ref = secrets.token_hex(3)
        SLACK_ERRORS.labels("slack_api").inc()
        code = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
        log.warning("a Slack call failed, ref %s: %s (%s request from %s)", ref, code, kind, user_id)
        text = t("common.error_generic", locale, ref=ref)
    else:
        ref = secrets.token_hex(3)
        SLACK_ERRORS.labels("listener").inc()
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("listener failed, ref %s: %s (%s request from %s)\n%s", ref, type(error).__name__, kind, user_id,
                  frames)
        text = t("common.error_generic", locale, ref=ref)
    if context.ack.response is None:
        return deliver_notice(body, client, respond, text, locale)
    try:
        if body.get("response_url") or "command" in body:
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif user_id:
            client.chat_postMessage(channel=user_id, text=text)
    except Exception:
        log.warning("could not tell %s about a failed %s request", user_id, kind)
    return None

