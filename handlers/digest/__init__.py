"""Morning digests: `/digest` (settings, preview, send now); sending is scheduled by bot/scheduler.py."""
