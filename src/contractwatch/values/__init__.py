"""Pure value modules for the data's traps: money, fiscal years, identifiers."""
