"""Logging interactions and follow-ups from Slack."""


def register(app) -> None:
    from handlers.interactions.views import register as register_views

    register_views(app)
