from tap_peakon.tap import TapPeakon

TapPeakon.cli()
