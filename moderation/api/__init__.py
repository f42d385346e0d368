"""The public REST API readers' browsers call (routes: config/urls.py)."""
