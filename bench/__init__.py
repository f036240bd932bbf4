"""Benchmarks that run the app against the local Slack and Stripe stand-ins."""
