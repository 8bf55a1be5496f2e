"""Events for other systems: an outbox written with each change, published to Redis."""
