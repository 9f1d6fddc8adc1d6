"""The use case: who may see what, fetching from Ekuaibao, and delivering the answer."""
