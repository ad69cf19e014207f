"""The customer card: Block Kit builder and its buttons."""
