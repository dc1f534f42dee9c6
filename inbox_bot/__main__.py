from inbox_bot.ui.cli import main

if __name__ == "__main__":
    main()
