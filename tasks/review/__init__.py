"""Reviews: Ekuaibao's approval messages become cards in approvers' DMs, kept true."""
