"""Live data: what the website knows, applied as it arrives (issue 11).

Each module maps one kind of incoming event onto the profile through the same write rules as the
file imports (store/importing/): `commerce` the Segment-style tracking events, `shopify` Shopify's
webhooks. Appliers take a session and never commit: the inbox worker commits their writes and the
event's state in one transaction.
"""
