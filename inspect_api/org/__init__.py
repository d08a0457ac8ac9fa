"""The org registry: units (tree), staff, service items, their imports and the phone's delta feed."""
