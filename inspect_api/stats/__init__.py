"""Statistics behind the supervision bulletin (督查通报) and the leader's and office's dashboards."""
