"""A minimal feature used by the plumbing tests: it shows what the plumbing hands a listener."""
from __future__ import annotations

from bot.access import role_required

MODULE = "tests.support.probe_feature"


def register(app) -> None:
    @app.command("/probe")
    def probe(ack, command, employee, settings, session_factory, clock, respond):
        ack()
        respond(f"hello {employee.name} ({employee.role}, {employee.locale}) at {clock():%Y}; "
                f"db={'yes' if session_factory else 'no'} contact={settings.access_contact}")

    @app.command("/probe-manager", middleware=[role_required("manager")])
    def probe_manager(ack, employee):
        ack(f"manager area for {employee.name}")

    @app.action("probe_button")
    def probe_button(ack, body, client, employee):
        ack()
        client.chat_postEphemeral(channel=body["channel"]["id"], user=employee.slack_user_id,
                                  text=f"clicked by {employee.name}")

    @app.event("message")
    def probe_dm(event, say, employee):
        say(f"you said {event['text']!r}, {employee.name}")
