"""Circuit breakers, chaos hooks and resilience metrics for simulated users."""
