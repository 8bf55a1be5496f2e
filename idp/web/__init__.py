"""Hosted pages: login, consent, account."""
