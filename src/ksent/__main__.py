from ksent.cli import main

main()
