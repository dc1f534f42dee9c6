from inbox_bot.cli import main

main()
