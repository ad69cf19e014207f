"""Team KPIs: `/kpi` with a compact table (ephemeral) and a trend chart sent to the requester's DM."""
