SEARCH = "home.search"  # opens handlers.lookup's search modal
LOG = "home.log_interaction"  # handled by handlers.interactions (opens the blank log modal)
RECENT_LOG = "profile.log_interaction"  # the profile card's button: same listener, same modal
