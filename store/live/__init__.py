"""Live data: events from the website and the shop, applied to the profile as they arrive (issue 11)."""
