"""Citizen ratings (好差评): the public rating page per window, imports, follow-ups of bad ratings."""
