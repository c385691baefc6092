"""Sign-in: bearer tokens for a username and password."""
