"""Action ids of the possible-duplicates buttons.

Queue buttons (/review message, App Home) carry the review id (Undo: the decision id). Card buttons
carry "<review or decision id>:<customer id>", the card they were shown on. Values are data, never
proof of anything: store.review checks them against the rows on every click.
"""
COMMAND = "/review"

SAME = "review.same"
APART = "review.apart"
SKIP = "review.skip"
UNDO = "review.undo"

CARD_SAME = "review.card.same"
CARD_APART = "review.card.apart"
CARD_SKIP = "review.card.skip"
CARD_UNDO = "review.card.undo"
