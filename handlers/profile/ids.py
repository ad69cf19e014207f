"""Action ids of the customer card. Other features listen to some of them: keep them stable.

Every button's value is str(customer_id) (paging buttons may add ":offset"). Values are data, never
proof of anything: listeners check the viewer may see the customer.
"""
OPEN_CUSTOMER = "customer.open"
LOG_INTERACTION = "profile.log_interaction"  # listener: handlers.interactions
ADD_FOLLOW_UP = "profile.add_follow_up"  # listener: handlers.interactions
MORE_ORDERS = "profile.more_orders"
MORE_INTERACTIONS = "profile.more_interactions"
REVEAL_CONTACT = "profile.reveal_contact"
SHARE_CARD = "profile.share"  # listener: handlers.sharing; shown only when an admin allowed share channels
