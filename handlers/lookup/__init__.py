"""Finding a customer from Slack: /customer, DMs, mentions and the "Find a customer" shortcut."""
