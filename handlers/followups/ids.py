COMMAND = "/followups"
DONE = "followups.done"
SNOOZE = "followups.snooze"
BLOCK_PREFIX = "followup."
