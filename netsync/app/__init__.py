"""The application: config, secrets, state, and the cycle that reads, decides and applies."""
