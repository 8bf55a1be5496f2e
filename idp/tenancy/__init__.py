"""Tenants: lookup, administration, the settings schema and branding."""
