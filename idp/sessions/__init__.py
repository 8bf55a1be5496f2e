"""Browser sessions: start, load (with idle and absolute timeouts), revoke."""
