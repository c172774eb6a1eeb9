from paperboard.cli import main

# Guarded: a process that `multiprocessing` spawns imports this module again, and must not run the command line.
if __name__ == "__main__":
    main()
