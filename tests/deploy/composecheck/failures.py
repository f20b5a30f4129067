"""The problems found, each printed as it is found, and counted at the end.
"""

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)
