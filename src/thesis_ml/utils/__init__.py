"""Small helpers shared by the library: seeding and crash-safe file writes."""
