"""Tokens: signing, issuance, validation, codes and refresh families, claims, exchange."""
