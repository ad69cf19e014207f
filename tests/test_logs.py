import io
import json
import logging

from bot.logs import MAX_TEXT, LibraryBodyFilter, configure_logging, scrub


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


# Every way a customer's e-mail or phone reached a log line in the trials: plain, URL-encoded (bolt
# quoted the raw form body of refused requests), form-encoded (spaces as "+"), encoded twice, as HTML.
ENCODED_CONTACTS = [
    "text=jean.dupont%40orange.example&user_id=U0LEA",
    "text=jean.dupont%2540orange.example",
    "text=JEAN.DUPONT%40ORANGE.EXAMPLE",
    "jean.dupont&#64;orange.example",
    "text=06+39+00+13+11&command=%2Fcustomer",
    "text=06%2039%2000%2013%2011",
    "text=%2B33%206%2039%2000%2013%2011",
    "text=Jean+0639001311",
    "{'text': '06.39.00.13.11'}",
    "body: payload=%7B%22value%22%3A%22jean.dupont%40orange.example%22%7D",
]


def test_encoded_contact_details_are_decoded_then_masked():
    for text in ENCODED_CONTACTS:
        masked = scrub(text)
        assert "orange" not in masked.lower() and "dupont" not in masked.lower(), (text, masked)
        assert not any(run in masked for run in ("39", "0013", "1311")), (text, masked)


def test_ids_dates_and_mentions_stay_readable():
    text = "order W250000478 for <@U0LEA> on 2026-11-26, loyalty MV000123, 3 of 12 done"
    assert scrub(text) == text
    assert scrub("Fr%C3%A9d%C3%A9ric") == "Frédéric"  # decoded, so the line is what was sent


def test_huge_hostile_lines_are_cut_and_still_masked():
    # Shapes that made the old e-mail pattern backtrack quadratically; their timing is in bench/masker.py.
    for hostile in ("a" * 1_000_000, "a." * 500_000, "1 " * 500_000, "@a" * 500_000, "%41" * 300_000):
        masked = scrub(hostile)
        assert len(masked) <= MAX_TEXT + len(" [cut]")
    straddling = "x" * (MAX_TEXT - 10) + " jean.dupont@orange.example and 06 39 00 13 11"
    assert "jean" not in scrub(straddling) and "39 00" not in scrub(straddling)


def test_no_slack_library_message_can_write_a_request_body_whatever_the_handler():
    # A plain handler, as a test or another tool might attach: the filter travels with bolt's loggers.
    stream = io.StringIO()
    plain = logging.StreamHandler(stream)
    bolt_logger = logging.getLogger("slack_bolt.RequestVerification")
    bolt_logger.addHandler(plain)
    bolt_logger.addFilter(LibraryBodyFilter())
    try:
        bolt_logger.warning("Invalid request signature detected (signature: v0=1, timestamp: 1, "
                            "body: token=x&text=Jeanne+Dupont+12+rue+de+Rivoli)")
        bolt_logger.warning("Unhandled request ({'type': 'view_submission', 'view': {'state': 'Jeanne'}})")
        bolt_logger.warning("x" * 5000)
    finally:
        bolt_logger.removeHandler(plain)
        bolt_logger.filters.clear()
    written = stream.getvalue()
    assert "Jeanne" not in written and "Rivoli" not in written
    assert "Invalid request signature detected" in written and "[request content withheld]" in written
    assert all(len(line) < 400 for line in written.splitlines())
