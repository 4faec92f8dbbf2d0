from lahstats.cli import main

main()
