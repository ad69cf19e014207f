"""Live data: what the website and the shop platform send, applied to the profile as it arrives
(commerce.py: Segment-compatible track/page/alias; shopify.py: Shopify webhooks). Each applier takes
one stored inbox event and writes what it means; the inbox worker owns the transaction."""
