"""The counted checks the Python test scripts share: each check prints its "ok" or "FAIL"
line, and `summary` prints the closing "N passed, N failed" that run-tests.sh adds up.

    from tally import check, summary
"""

passed = failed = 0


def check(ok, what, quiet=False):
    """Counts one check; prints "FAIL what" when it failed, and "ok   what" unless quiet."""
    global passed, failed
    if ok:
        passed += 1
        if not quiet:
            print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
    return ok


def summary():
    """Prints "N passed, N failed"; the exit status for them (1 if any failed)."""
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1
