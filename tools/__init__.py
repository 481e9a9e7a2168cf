"""Scripts that drive the client against the demo org (``make demo``, ``make lab``).

They sit outside both packages: the client never imports the demo org, nor the demo org the
client; only these scripts and the tests use both.
"""
