"""Review, appeal and rectification (the review issue builds on this)."""
