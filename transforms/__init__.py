"""tonewatch: transforms."""
