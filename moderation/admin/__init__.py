"""The moderator's tools, by what they serve. Every decision goes through the services
(services.comment_decide and its bulk and campaign forms), like the worker's.

    comments   comments and the queue        spam       the model in shadow mode
    campaigns  spam waves, decided whole     akismet    other sites' keys and checks
    records    audit records, rules, domains base       what the pages share
"""

from moderation.admin import akismet, campaigns, comments, records, spam  # noqa: F401 (registers)
