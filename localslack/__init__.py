"""The local Slack stand-in and the terminal console: dev and test tooling, never imported by bot/,
handlers/ or store/.

Installed with the `local` extra (`pip install -e '.[local]'`, pulled in by `dev`); `make demo` and the
tests use it. Imports run one way: localslack -> bot -> handlers -> store.

- `local_slack`: a loopback stand-in for the Slack Web API; records and validates every call.
- `local_socket_mode`: a loopback Socket Mode server (on the `websockets` library) next to it.
- `block_checks`: Block Kit validation with slack_sdk's models plus Slack's limits.
- `slack_requests`: signed requests shaped exactly as Slack sends them.
- `slack_driver`: acting as a Slack user towards the bot (over HTTP or straight into the WSGI app).
- `text_render`: Block Kit messages and views as plain text, with numbered controls.
- `executor`: the listener thread pool that can say when every listener has finished.
- `console`: `frontline-console`, the bot in a terminal with no workspace.
"""
