"""Action ids of the conversation's buttons. A button's value is the customer id: data, checked again."""

LOG_OPEN = "conversation.log_open"  # opens the log form pre-filled from the thread's draft
