"""Database access, one repository per model: queries in, models out, nothing of HTTP."""
