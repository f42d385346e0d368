"""Starting ReplyGuard and the servers it talks to, for the tests and the benchmarks alike."""
