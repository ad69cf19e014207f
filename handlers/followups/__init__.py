"""My follow-ups: /followups, Done, Snooze."""
