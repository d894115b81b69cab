"""The service's rules, one module per resource: what the API does, apart from HTTP."""
