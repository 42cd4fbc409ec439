from headroom_cli.cli import main

main()
