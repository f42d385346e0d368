"""The Akismet door: other sites ask about their comments with Akismet's REST API 1.1 and get
our rules, model and moderators' answers.

    views   the protocol: parse the form, present the answer in text/plain, keys and limits
    checks  the work: site keys, running a check, recording a site's labels
"""
