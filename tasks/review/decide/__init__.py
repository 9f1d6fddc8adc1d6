"""Deciding from the card: guarded right before acting (guard), sent once and confirmed
from Ekuaibao's log (service, confirm), shown on the card (buttons, card, modal, notes)."""
