"""In-app notifications: what the system tells a user (reminders, decisions, deadlines)."""
