"""The integration page of an organisation's directory: one module per card of the page."""
