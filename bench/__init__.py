"""Load benchmark of the phones service: `make bench` runs `python -m bench.run`."""
