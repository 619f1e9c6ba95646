from tap_peakon.tap import main

main()
