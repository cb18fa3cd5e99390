pytest_plugins = ["forum.testing"]
