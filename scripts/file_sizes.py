#!/usr/bin/env python3
"""No library file over a size limit (issue 22: "no file over 500 lines anywhere in src/,
tests aside"), so a file that has grown past one job is split before it is merged.

    scripts/file_sizes.py [--limit N] [SRC_DIR]

Counts each .rs file's lines before its `#[cfg(test)] mod tests {` block, and leaves out
files that are test code as a whole (declared under #[cfg(test)]), with the same rules
as scripts/import_cycles.py. One check per file; ends with "N passed, N failed".
"""

import sys

import tally
from import_cycles import before_tests, read_files, test_only


def main(argv):
    limit, src = 500, "src"
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--limit":
            limit = int(args.pop(0))
        else:
            src = arg
    files = read_files(src)
    tests = test_only(files)
    for module in sorted(files):
        if module in tests:
            continue
        path, text = files[module]
        lines = before_tests(text).count("\n")
        tally.check(lines <= limit, f"{path}: {lines} lines before its tests (at most {limit})", quiet=True)
    tally.summary()
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
