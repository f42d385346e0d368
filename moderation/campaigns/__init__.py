"""Spam waves as one thing: `keys` tells which comments belong together, `grouping` puts
them in a Campaign (the worker, each batch). A moderator decides a campaign whole through
services.campaign_decide."""
