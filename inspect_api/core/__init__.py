"""Cross-cutting pieces: clock, calendar, storage, base schemas, health."""
