"""Sharing a customer card to a channel: an explicit, audited action, only where an admin allowed it.

Everything else Frontline shows stays with the employee (ephemeral replies, DMs, modals, App Home).
Here the employee presses "Share to channel" on a card, picks a channel, and a reduced card (name,
loyalty tier, declared preferences; never contact details, birth date, address or browsing) is posted
there. The channel must be in FRONTLINE_SHARE_CHANNELS; the customer id travels in the modal's
private_metadata, which is data, so the employee's right to see that customer is checked again.
"""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from handlers import payloads
from handlers.blockkit import escape
from handlers.context import Clock, ListenerSettings, Requester, SessionFactory
from handlers.i18n import t
from handlers.profile import ids as profile_ids
from handlers.profile.actions import parse_value
from handlers.sharing import blocks
from store.profile import ProfileUnavailable, build_profile, viewer_may_see
from store.sharing import record_share, share_key

log = logging.getLogger(__name__)

VIA = "slack:share"


def allowed_channels(settings: ListenerSettings) -> list[str]:
    return sorted(settings.share_channels)


def _notice(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def open_share(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
               employee: Requester, session_factory: SessionFactory, settings: ListenerSettings, clock: Clock) -> None:
    trigger_id = payloads.require_text(body, "trigger_id", limit=200)  # before the ack: see interactions.views
    ack()
    locale = employee.locale
    allowed = allowed_channels(settings)
    if not allowed:
        _notice(respond, t("privacy.share.disabled", locale))
        return
    parsed = parse_value(action.get("value"))
    if parsed is None or not viewer_may_see(employee, parsed[0]):
        _notice(respond, t("common.unknown_action", locale))
        return
    try:
        with session_factory() as session:
            profile = build_profile(session, parsed[0], viewer=employee, clock=clock)
    except ProfileUnavailable:
        _notice(respond, t("privacy.share.unavailable", locale))
        return
    except SQLAlchemyError:
        log.exception("loading customer %s to share failed", parsed[0])
        _notice(respond, t("common.db_unavailable", locale))
        return
    view = blocks.share_modal(locale, customer_id=profile.customer_id, name=profile.display_name, allowed=allowed)
    client.views_open(trigger_id=trigger_id, view=view)


def submit_share(ack: Ack, view: dict[str, Any], client: WebClient, employee: Requester,
                 session_factory: SessionFactory, settings: ListenerSettings, clock: Clock) -> None:
    locale = employee.locale
    channel = blocks.read_channel(view)
    customer_id = blocks.read_customer_id(view)
    if channel is None or channel not in settings.share_channels:
        ack(response_action="errors", errors={blocks.CHANNEL_BLOCK: t("privacy.share.not_allowed", locale)})
        return
    if customer_id is None or not viewer_may_see(employee, customer_id):
        ack(response_action="errors", errors={blocks.CHANNEL_BLOCK: t("privacy.share.unavailable", locale)})
        return
    key = share_key(employee_id=employee.id, submission=str(view.get("id") or ""), channel=channel,
                    customer_id=customer_id)
    try:
        with session_factory.begin() as session:
            profile = build_profile(session, customer_id, viewer=employee, clock=clock)
            first = record_share(session, employee_id=employee.id, actor=employee.slack_user_id,
                                 customer_id=profile.customer_id, channel=channel, key=key, via=VIA, now=clock())
    except ProfileUnavailable:
        ack(response_action="errors", errors={blocks.CHANNEL_BLOCK: t("privacy.share.unavailable", locale)})
        return
    except SQLAlchemyError:
        log.exception("recording the share of customer %s failed", customer_id)
        ack(response_action="errors", errors={blocks.CHANNEL_BLOCK: t("common.db_unavailable", locale)})
        return
    ack()
    if not first:
        log.info("share of customer %s to %s already handled; repeat dropped", profile.customer_id, channel)
        return
    card = blocks.reduced_card(
        locale, name=profile.display_name, loyalty_tier=profile.loyalty_tier,
        preferences=[(p.label, p.category, p.value) for p in profile.preferences], shared_by=employee.name)
    try:
        client.chat_postMessage(channel=channel, **card)
        text = t("privacy.share.done", locale, name=escape(profile.display_name), channel=channel)
    except SlackApiError as error:
        code = str((error.response or {}).get("error", "error"))
        log.warning("sharing customer %s to %s failed: %s", profile.customer_id, channel, code)
        text = t("privacy.share.failed", locale, channel=channel, error=code)
    log.info("customer %s shared to %s by employee %s", profile.customer_id, channel, employee.id)
    try:
        client.chat_postMessage(channel=employee.slack_user_id, text=text)
    except SlackApiError:
        log.warning("could not confirm a share to employee %s", employee.id)


def register(app: App) -> None:
    app.action(profile_ids.SHARE_CARD)(open_share)
    app.view(blocks.MODAL_CALLBACK)(submit_share)
