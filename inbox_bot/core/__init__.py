"""The functional core: parse, classify, decide, render. No socket, no database, no clock."""
