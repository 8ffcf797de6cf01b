"""tonewatch: flows."""
