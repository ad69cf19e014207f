"""Possible duplicates answered in Slack: the data stewards' queue (/review, App Home) and the card's banner."""
