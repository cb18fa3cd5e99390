"""The forum's rules, callable without HTTP. Views call these; these never import ``forum.web``."""
