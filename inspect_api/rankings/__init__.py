"""Rankings (排名与末位, 002 §8): units and staff scored per period, the bottom named, special supervision."""
