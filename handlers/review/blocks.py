"""Block Kit for possible duplicates: pure functions of store.review's dataclasses and the reader's locale.

The two records are shown side by side, one row per field (section fields: A on the left, B on the
right), each row with what the linker made of it and the weight it gave (`Evidence`, in bits: positive
says "same person", negative "two people"). E-mails and phones are masked as on the card: the evidence
says whether they are equal, which is all a steward needs to answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.blockkit import (
    Mrkdwn, actions, button, context, divider, escape, header, mrkdwn, section, truncate, trusted,
)
from handlers.i18n import has_key, t
from handlers.i18n.formats import format_date, mask_email, mask_phone
from handlers.review import ids
from store.identity import Evidence
from store.review import Answered, PendingReview, PossibleDuplicate, RecordSummary
from store.vocabulary import ReviewAnswer

# The rows of the side-by-side view, in the order a person compares two people.
FIELDS = ("first_name", "last_name", "birth_date", "email", "phone", "loyalty_id", "street", "postcode", "city")
VALUE_CHARS = 80


@dataclass(frozen=True)
class Outcome:
    """What the last click did, shown above what comes next; `undo` is the Undo button's value, if any."""

    text: Mrkdwn
    undo: str | None = None


def _value(record: RecordSummary, field: str, locale: str) -> Mrkdwn:
    if field == "email":
        return escape(mask_email(record.email))
    if field == "phone":
        return escape(mask_phone(record.phone))
    if field == "birth_date":
        return escape(format_date(record.birth_date, locale))
    raw = getattr(record, field)
    return escape(truncate(" ".join(str(raw).split()), VALUE_CHARS)) if raw else trusted("—")


def _icon(bits: float) -> str:
    if bits >= 0.5:
        return "✅"
    if bits <= -0.5:
        return "❌"
    return "➖"


def evidence_line(field: str, evidence: tuple[Evidence, ...], locale: str, *, compared: bool) -> Mrkdwn:
    """'*Birth date* ✅ day and month swapped · +5.2 bits': one field's label and what it weighed."""
    label = t(f"review.field.{field}", locale)
    mine = [e for e in evidence if e.field == field]
    if not mine:
        return trusted(f"*{label}*") + (" · " + t("review.not_compared", locale) if compared else "")
    bits = sum(e.bits for e in mine)
    words = [t(f"review.level.{e.level}", locale) for e in mine if has_key(f"review.level.{e.level}")]
    words += [t("review.capped", locale)] if any(e.capped for e in mine) else []
    weight = t("review.weight", locale, bits=f"{bits:+.1f}")
    return trusted(f"*{label}* {_icon(bits)} " + " · ".join([*words, weight]))


def score_line(review: PendingReview, locale: str) -> Mrkdwn:
    """'Match score 0.91 · fields +20.9 bits · prior -12.0 bits · household guard -5.0 bits'."""
    fields = sum(e.bits for e in review.evidence if e.field in FIELDS)
    parts = [t("review.score", locale, score=f"{review.score:.2f}", bits=f"{fields:+.1f}")]
    for field, key in (("prior", "review.prior"), ("household_cap", "review.household_cap")):
        lines = [e.bits for e in review.evidence if e.field == field]
        if lines:
            parts.append(t(key, locale, bits=f"{sum(lines):+.1f}"))
    return trusted(" · ").join(parts)


def _name(record: RecordSummary, locale: str) -> Mrkdwn:
    return escape(record.display_name) if record.display_name else t("review.no_name", locale)


def _record_heading(side: str, record: RecordSummary, locale: str) -> Mrkdwn:
    owner = (t("review.customer", locale, id=str(record.customer_id)) if record.customer_id
             else t("review.unlinked", locale))
    return t("review.record", locale, side=side, source=truncate(record.source, 30),
             source_id=truncate(record.source_id, 40)) + trusted("\n") + owner


def review_blocks(review: PendingReview, locale: str) -> list[dict[str, Any]]:
    """One possible duplicate: both records side by side with the evidence, and the three answers."""
    prefix = f"review.{review.id}"
    blocks: list[dict[str, Any]] = [
        section(t("review.question", locale), block_id=f"{prefix}.question",
                fields=[mrkdwn(_record_heading("A", review.a, locale)), mrkdwn(_record_heading("B", review.b, locale))]),
    ]
    evidence = review.evidence
    for field in FIELDS:
        a, b = _value(review.a, field, locale), _value(review.b, field, locale)
        weighed = any(e.field == field for e in evidence)
        if a == "—" and b == "—" and not weighed:
            continue
        blocks.append(section(evidence_line(field, evidence, locale, compared=a != "—" and b != "—"),
                              block_id=f"{prefix}.{field}", fields=[mrkdwn(a), mrkdwn(b)]))
    blocks.append(context(score_line(review, locale)))
    value = str(review.id)
    blocks.append(actions(button(t("review.same", locale), ids.SAME, value, style="primary"),
                          button(t("review.apart", locale), ids.APART, value, style="danger"),
                          button(t("review.skip", locale), ids.SKIP, value), block_id=f"{prefix}.answers"))
    return blocks


def outcome_blocks(outcome: Outcome | None, locale: str, undo_action: str) -> list[dict[str, Any]]:
    if outcome is None:
        return []
    block: dict[str, Any] = section(outcome.text, block_id="review.outcome")
    if outcome.undo is not None:
        block["accessory"] = button(t("review.undo", locale), undo_action, outcome.undo)
    return [block]


def queue_blocks(locale: str, review: PendingReview | None, waiting: int, *, outcome: Outcome | None = None,
                 ended: bool = False) -> list[dict[str, Any]]:
    """The queue as a steward sees it (in the /review reply and in App Home): what the last click did,
    then the most likely possible duplicate still waiting (or the next one after a skip)."""
    blocks: list[dict[str, Any]] = [header(t("review.title", locale)), *outcome_blocks(outcome, locale, ids.UNDO)]
    if review is None:
        blocks.append(context(t("review.end", locale) if ended and waiting else t("review.empty", locale)))
        return blocks
    blocks.append(context(t("review.waiting", locale, count=waiting)))
    blocks += review_blocks(review, locale)
    return blocks


def queue_message(locale: str, review: PendingReview | None, waiting: int, *, outcome: Outcome | None = None,
                  ended: bool = False) -> dict[str, Any]:
    return {"text": t("review.fallback", locale),
            "blocks": queue_blocks(locale, review, waiting, outcome=outcome, ended=ended)}


def answered_text(answered: Answered, locale: str) -> Mrkdwn:
    a, b = (escape(name) if name else t("review.no_name", locale) for name in answered.names)
    key = "review.done_same" if answered.answer == ReviewAnswer.SAME else "review.done_apart"
    return t(key, locale, a=a, b=b)


def _who(record: RecordSummary, locale: str) -> Mrkdwn:
    """'Marie Dupont, Lyon, born 1971': enough for the customer at the counter to say yes or no."""
    parts = [_name(record, locale)]
    if record.city:
        parts.append(escape(truncate(record.city, 60)))
    if record.birth_date:
        parts.append(t("review.born", locale, year=str(record.birth_date.year)))
    return trusted(", ").join(parts)


def card_banner(duplicate: PossibleDuplicate, locale: str) -> list[dict[str, Any]]:
    """On the card: 'Possibly the same person as … — ask the customer', and the three answers."""
    value = f"{duplicate.review_id}:{duplicate.customer_id}"
    return [
        section(t("review.banner", locale, who=_who(duplicate.other, locale)), block_id="review.banner"),
        actions(button(t("review.same", locale), ids.CARD_SAME, value, style="primary"),
                button(t("review.apart", locale), ids.CARD_APART, value),
                button(t("review.skip", locale), ids.CARD_SKIP, value), block_id="review.banner.answers"),
    ]


def card_outcome(outcome: Outcome, locale: str) -> list[dict[str, Any]]:
    return [*outcome_blocks(outcome, locale, ids.CARD_UNDO), divider()]
