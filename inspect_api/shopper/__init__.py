"""Mystery-shopper audits (模拟办事): scenarios, recording, scoring, comparison."""
