"""The shared kernel every service uses and none re-writes."""
