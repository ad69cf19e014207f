"""Ids of the interaction-logging surfaces. Block ids equal the form field names of
store.interactions.validate_interaction_form, so its errors map onto blocks one to one."""

COMMAND = "/log"
MESSAGE_SHORTCUT = "log_message_as_interaction"
PROFILE_LOG = "profile.log_interaction"
PROFILE_FOLLOW_UP = "profile.add_follow_up"
HOME_LOG = "home.log_interaction"

LOG_MODAL = "interactions.log_modal"
FOLLOW_UP_MODAL = "interactions.follow_up_modal"

CUSTOMER_SELECT = "interactions.customer"  # external_select: the options listener answers it

CUSTOMER = "customer_id"
CHANNEL = "channel"
TYPE = "type"
OUTCOME = "outcome"
NOTE = "note"
SIZES = "sizes"
BRANDS = "brands"
TASTES = "tastes"
CONTACT_CHANNEL = "contact_channel"
LANGUAGE = "language"
DUE = "follow_up_due"
ASSIGNEE = "follow_up_assignee"
FOLLOW_UP_NOTE = "follow_up_note"
