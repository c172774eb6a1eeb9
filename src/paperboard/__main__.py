from paperboard.cli import main

main()
