import io
import json
import logging

from bot.logs import configure_logging


def test_log_lines_are_json_and_never_carry_contact_details():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("frontline.test")
    log.info("lookup on 2026-11-26 failed for jean.dupont@example.com / +33 6 12 34 56 78", extra={"customer_id": 42})
    try:
        raise ValueError("bad phone 06.12.34.56.78")
    except ValueError:
        log.exception("import row rejected")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["customer_id"] == 42 and first["level"] == "info"
    assert "example.com" not in first["msg"] and "56 78" not in first["msg"]
    assert "[email]" in first["msg"] and "[phone]" in first["msg"] and "2026-11-26" in first["msg"]
    assert "06.12.34" not in second["error"]
    logging.getLogger().handlers.clear()


def test_debug_level_does_not_open_slack_payload_logging():
    configure_logging("DEBUG", stream=io.StringIO())
    assert not logging.getLogger("slack_sdk.web.base_client").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("slack_bolt.App").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("frontline").isEnabledFor(logging.DEBUG)
    logging.getLogger().handlers.clear()
