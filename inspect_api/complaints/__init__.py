"""投诉举报: complaints from the public (web form, hotline, letters, visits), followed to the end."""
