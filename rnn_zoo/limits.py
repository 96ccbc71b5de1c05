"""Caps on what one call may ask for."""

# Most characters one generate call adds to a prompt (generate_text and the exported signature).
MAX_GENERATED_CHARS = 100_000
