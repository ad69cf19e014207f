SEARCH = "home.search"
LOG = "home.log_interaction"  # handled by handlers.interactions (opens the blank log modal)
SEARCH_MODAL = "home.search_modal"
SEARCH_BLOCK = "search"
SEARCH_QUERY = "home.search_query"
RECENT_LOG = "profile.log_interaction"  # the profile card's button: same listener, same modal
