"""App Home."""


def register(app) -> None:
    from handlers.home.views import register as register_views

    register_views(app)
