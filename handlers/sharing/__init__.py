"""Sharing a reduced customer card to an admin-allowed channel (explicit, audited)."""
