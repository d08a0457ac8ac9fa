"""inspect_api: the backend of the efficiency-supervision (效能督查) system."""

__version__ = "0.1.0"
