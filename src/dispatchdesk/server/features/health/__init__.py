"""``GET /api/v1/health``: whether this API node can reach its database (for load balancers)."""
