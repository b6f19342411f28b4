from partnerkpi.cli import main

main()
