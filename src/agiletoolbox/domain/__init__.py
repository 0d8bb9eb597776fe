"""The pure domain of Agile Toolbox: rooms, rounds, votes, decks, tenants, privacy rules.

Standard library and `attrs` only, synchronous, and free of I/O: time comes in as `now`.
Anyone can use it alone (see the README's example).
"""
