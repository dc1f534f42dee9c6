"""The world outside, behind inbox_bot/ports.py: IMAP, SMTP, SQLite, the reader
process, the scheduler and the files the bot writes."""
