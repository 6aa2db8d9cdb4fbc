"""The do-not-call list: holds for every campaign."""
