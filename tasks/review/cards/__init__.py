"""Review cards in the approver's DM: an Ekuaibao event becomes a card (service), its
invoices fetched by view, posted and kept true by messages."""
