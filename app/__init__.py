"""Haven: secure case management for people who refuse to fight."""
