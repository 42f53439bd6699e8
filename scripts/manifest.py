#!/usr/bin/env python3
"""Reads c-tests/manifest (its first lines describe the format) for scripts/manifest.sh.

    manifest.py check
        the manifest is well formed and names every C program in the tree
    manifest.py runs MODE --bin DIR --scratch DIR [--prefix P] [--brokers KIND...]
        the runs of MODE (plain, asan, valgrind), for the lines whose brokers are one of
        KIND (default: all), their placeholders replaced but {brokers} and {UPPER_CASE},
        which only the running script knows; NUL-separated records:
            run NAME PROGRAM BROKERS TIMEOUT SUPPRESSIONS OUTPUT OWN_DIR EXPECT
                N_TOPICS (TOPIC PARTITIONS SECURE_BROKER)... N_ARGS ARG...
            skip NAME WHY
Exit status 1, with the reason on stderr, when the manifest is not right.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "c-tests", "manifest")
MODES = ("plain", "asan", "valgrind")
BROKERS = ("none", "tansu", "own", "secure")
DEFAULT_TIMEOUT_S = 300
CHECKER_SLOWDOWN = 3
# Compiled, never run: the header as strict C11 (make header-compile).
COMPILE_ONLY = {"header_c11"}

ALTERNATIVES = re.compile(r"\{([^{}|]*)\|([^{}|]*)\|([^{}|]*)\}")
TOPIC = re.compile(r"\{topic:([A-Za-z0-9._-]+)(?::(\d+)(?::(t[1-5]))?)?\}")
EXPECT = re.compile(r"\{expect:([A-Za-z0-9._-]+)\}")
LEFT_FOR_THE_SHELL = re.compile(r"\{(brokers|[A-Z][A-Z0-9_]*)\}")
ANY = re.compile(r"\{[^{}]*\}")


class Bad(Exception):
    pass


def programs_in_tree():
    found = set()
    for folder, exts in (("c-tests", (".c", ".cpp")), ("examples-c", (".c",))):
        for name in os.listdir(os.path.join(ROOT, folder)):
            stem, ext = os.path.splitext(name)
            if ext in exts and stem not in COMPILE_ONLY:
                found.add(stem)
    return found


def logical_lines():
    """(line number, text) of each line, comments and blank lines left out, a trailing
    backslash joining the next line."""
    pending, start = "", 0
    with open(MANIFEST, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if not pending:
                start = number
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            yield start, pending + line
            pending = ""
    if pending:
        raise Bad(f"line {start}: ends with a backslash")


def parse():
    known = programs_in_tree()
    lines, names, previous = [], set(), None
    for number, text in logical_lines():
        where = f"c-tests/manifest line {number}"
        try:
            words = shlex.split(text)
        except ValueError as e:
            raise Bad(f"{where}: {e}")
        if "--" not in words or words.index("--") < 3:
            raise Bad(f"{where}: want NAME PROGRAM BROKERS [OPTION=VALUE...] -- ARGUMENT...")
        split = words.index("--")
        name, program, brokers = words[:3]
        line = {"where": where, "name": name, "program": program, "brokers": brokers,
                "args": words[split + 1:], "topics": [], "timeout": DEFAULT_TIMEOUT_S,
                "suppressions": "", "output": "", "each": "", "no": {}}
        if name in names:
            raise Bad(f"{where}: a second line named {name!r}")
        names.add(name)
        if program != "verify" and program not in known:
            raise Bad(f"{where}: no program {program} (c-tests/{program}.c, .cpp or examples-c/{program}.c)")
        if brokers not in BROKERS:
            raise Bad(f"{where}: brokers {brokers!r} is not one of {', '.join(BROKERS)}")
        for option in words[3:split]:
            key, _, value = option.partition("=")
            if key in ("asan", "valgrind"):
                if not re.match(r"no: \S", value):
                    raise Bad(f"{where}: {key}= says 'no: WHY' (every line runs under both by default)")
                line["no"][key] = value[len("no: "):]
            elif key == "timeout" and value.isdigit():
                line["timeout"] = int(value)
            elif key == "topic" and re.fullmatch(r"[A-Za-z0-9._-]+:\d+", value):
                topic, partitions = value.split(":")
                line["topics"].append((topic, partitions, ""))
            elif key == "suppressions" and value == "fork":
                line["suppressions"] = value
            elif key == "output" and value:
                line["output"] = value
            elif key == "each" and value == "list":
                line["each"] = value
            else:
                raise Bad(f"{where}: unknown option {option!r}")
        if program == "verify":
            if previous is None or previous["brokers"] != brokers:
                raise Bad(f"{where}: a verify line follows the run it reads back, with the same brokers")
            line["run"] = previous["run"]
        else:
            line["run"] = line
        lines.append(line)
        previous = line
    missing = known - {line["program"] for line in lines}
    if missing:
        raise Bad(f"c-tests/manifest: no line runs {', '.join(sorted(missing))}: every C program needs one")
    return lines


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def expand(word, line, mode, options, case, own_dir, topics):
    where = line["where"]
    word = ALTERNATIVES.sub(lambda m: m.group(MODES.index(mode) + 1), word)

    def topic(m):
        name, partitions, secure = m.group(1), m.group(2), m.group(3) or ""
        if secure and line["brokers"] != "secure":
            raise Bad(f"{where}: {m.group(0)} names a secure broker on a {line['brokers']} line")
        if partitions:
            topics.append((options.prefix + name, partitions, secure))
        return options.prefix + name

    word = TOPIC.sub(topic, word)
    word = EXPECT.sub(lambda m: os.path.join(options.scratch, f"expect-{m.group(1)}.txt"), word)
    fixed = {"{scratch}": options.scratch, "{library}": os.path.join(ROOT, "target", "release", "libablkafka.so"),
             "{version}": version(), "{broker_sh}": os.path.join(ROOT, "scripts", "broker.sh"),
             "{dir}": own_dir, "{case}": case}
    for placeholder, value in fixed.items():
        if placeholder in word:
            if value is None or value == "":
                raise Bad(f"{where}: {placeholder} has no value on this line")
            word = word.replace(placeholder, value)
    leftover = [p for p in ANY.findall(word) if not LEFT_FOR_THE_SHELL.fullmatch(p)]
    if leftover:
        raise Bad(f"{where}: unknown placeholder {leftover[0]}")
    return word


def version():
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        return re.search(r'^version = "(.*)"', f.read(), re.M).group(1)


def cases(line, options):
    if not line["each"]:
        return [None]
    binary = os.path.join(options.bin, line["program"])
    try:
        out = subprocess.run([binary, "list"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise Bad(f"{line['where']}: each=list: {binary} list failed: {e}")
    return out.split()


def runs(lines, options):
    records, own_dir = [], ""
    for line in lines:
        if options.brokers and line["brokers"] not in options.brokers:
            continue
        run = line["run"]
        for case in cases(line, options):
            name = line["name"].replace("{case}", case) if case else line["name"]
            if mode_says_no := run["no"].get(options.mode):
                records.append(["skip", name, mode_says_no])
                continue
            if line["brokers"] == "own" and line is run:
                own_dir = os.path.join(options.scratch, "broker-" + slug(name))
            here_own = own_dir if line["brokers"] == "own" else ""
            topics = [(options.prefix + t, p, s) for t, p, s in line["topics"]]
            args = [expand(a, line, options.mode, options, case, here_own, topics) for a in line["args"]]
            expect = ""
            if line["program"] == "verify":
                if "--expect" not in args[:-1]:
                    raise Bad(f"{line['where']}: a verify line names its --expect file")
                expect = args[args.index("--expect") + 1]
            timeout = line["timeout"] * (1 if options.mode == "plain" else CHECKER_SLOWDOWN)
            record = ["run", name, line["program"], line["brokers"], str(timeout), run["suppressions"],
                      line["output"], here_own, expect, str(len(topics))]
            for topic in topics:
                record.extend(topic)
            record.append(str(len(args)))
            record.extend(args)
            records.append(record)
    return records


def main():
    ap = argparse.ArgumentParser(description="Reads c-tests/manifest.")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("check")
    r = sub.add_parser("runs")
    r.add_argument("mode", choices=MODES)
    r.add_argument("--bin", required=True)
    r.add_argument("--scratch", required=True)
    r.add_argument("--prefix", default="")
    r.add_argument("--brokers", nargs="*", choices=BROKERS, default=[])
    options = ap.parse_args()
    try:
        lines = parse()
        if options.command == "check":
            print(f"c-tests/manifest: {len(lines)} lines, every C program named")
            return 0
        out = sys.stdout.buffer
        for record in runs(lines, options):
            for field in record:
                out.write(field.encode() + b"\0")
        out.flush()
        return 0
    except Bad as e:
        print(f"manifest: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
