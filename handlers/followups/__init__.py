"""My follow-ups: /followups, Done, Snooze."""


def register(app) -> None:
    from handlers.followups.views import register as register_views

    register_views(app)
