"""Counted checks: the one place that prints and reads "N passed, N failed" outside C
(c-tests/check.h prints it for the C programs).

    from tally import check, summary      each check prints "ok   what" or "FAIL what";
                                          summary() prints the closing line
    tally.add(passed, failed)             counts another process's checks as this one's
    tally.closing_counts(text)            (passed, failed) of the last closing line, or None

    python3 scripts/tally.py counts LOG   prints "PASSED FAILED" of LOG's closing line, or
                                          nothing when it has none (scripts/harness.sh)
"""

import re
import sys

passed = failed = 0

CLOSING_LINE = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


def check(ok, what, quiet=False):
    """Counts one check; prints "FAIL what" when it failed, and "ok   what" unless quiet."""
    global passed, failed
    if ok:
        passed += 1
        if not quiet:
            print(f"ok   {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL {what}", flush=True)
    return ok


def add(more_passed, more_failed):
    global passed, failed
    passed += more_passed
    failed += more_failed


def summary():
    """Prints "N passed, N failed"; the exit status for them (1 if any failed)."""
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


def closing_counts(text):
    found = CLOSING_LINE.findall(text)
    return (int(found[-1][0]), int(found[-1][1])) if found else None


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "counts":
        sys.exit("usage: tally.py counts LOG")
    with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
        counts = closing_counts(f.read())
    if counts:
        print(*counts)
