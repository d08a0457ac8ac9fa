"""Supervised matters (督查督办): leader-assigned matters, meeting decisions and key work."""
