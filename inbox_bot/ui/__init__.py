"""How people reach the bot: the command line, the report page, the exports."""
