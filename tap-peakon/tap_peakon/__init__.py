"""tap-peakon: a Singer tap for the Workday Peakon v1 API."""
