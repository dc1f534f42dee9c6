"""What a command does: wires the adapters to the core (poll, run, staff actions, privacy, demo)."""
