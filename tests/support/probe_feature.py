"""A minimal feature used by the plumbing tests: it shows what the plumbing hands a listener."""
from __future__ import annotations

from bot.access import role_required

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


def _card(name: str) -> list[dict]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Card for {name}*"}},
        {"type": "actions", "block_id": "probe_actions", "elements": [
            {"type": "button", "action_id": "probe_open_modal", "text": {"type": "plain_text", "text": "Add note"},
             "value": name},
            {"type": "static_select", "action_id": "probe_pick", "placeholder": {"type": "plain_text", "text": "Tier"},
             "options": [{"text": {"type": "plain_text", "text": t}, "value": t.lower()} for t in ("Gold", "Silver")]},
        ]},
    ]


def _modal(name: str) -> dict:
    return {
        "type": "modal", "callback_id": "probe_note", "private_metadata": name,
        "title": {"type": "plain_text", "text": "Note"}, "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [{"type": "input", "block_id": "note", "label": {"type": "plain_text", "text": "Note"},
                    "element": {"type": "plain_text_input", "action_id": "note_text"}}],
    }


def register_interactive(app) -> None:
    @app.command("/probe-card")
    def card(ack, command):
        ack(text=f"card for {command['text']}", blocks=_card(command["text"]))

    @app.action("probe_open_modal")
    def open_modal(ack, body, client, action):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=_modal(action["value"]))

    @app.action("probe_pick")
    def pick(ack, action, respond):
        ack()
        respond(f"tier set to {action['selected_option']['value']}", replace_original=False)

    @app.view("probe_note")
    def save_note(ack, view, client, employee):
        note = view["state"]["values"]["note"]["note_text"]["value"]
        if len(note) < 3:
            ack(response_action="errors", errors={"note": "Too short"})
            return
        ack()
        client.chat_postMessage(channel=employee.slack_user_id,
                                text=f"note on {view['private_metadata']} saved: {note}")


_register_basic = register


def register(app) -> None:
    _register_basic(app)
    register_interactive(app)


def register_crash(app) -> None:
    @app.command("/probe-crash")
    def crash(ack, command):
        ack()
        raise RuntimeError(f"boom for {command['text']}")


_register_without_crash = register


def register(app) -> None:
    _register_without_crash(app)
    register_crash(app)


# What a test passes to build_app(features=[...]): every probe listener above.
FEATURE = register
