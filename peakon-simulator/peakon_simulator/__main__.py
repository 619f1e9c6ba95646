from peakon_simulator.cli import main

main()
