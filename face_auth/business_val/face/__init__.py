"""The face factor's rules: the match, attempts and holds, liveness policy and challenges,
one-time recovery codes, template protection."""
