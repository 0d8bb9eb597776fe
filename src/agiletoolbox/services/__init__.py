"""The use cases: each runs the domain inside one unit of work and publishes after commit."""
