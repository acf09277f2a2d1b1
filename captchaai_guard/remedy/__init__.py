"""remedy."""
