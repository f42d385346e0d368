"""The peer bench/load.py measures the comment POST against: the barest DRF create endpoint."""
