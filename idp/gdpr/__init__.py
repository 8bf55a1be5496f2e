"""GDPR: erasure and export of everything held about one person."""
