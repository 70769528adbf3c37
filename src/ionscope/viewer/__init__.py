"""The local browser viewer (ionscope view): a token-protected read-only server and offline assets."""
