#!/usr/bin/env python3
"""Options: ablkafka against librdkafka, property by property and row by row.

    conf_agreement.py LIBABLKAFKA LIBRDKAFKA

Reads librdkafka's own property list (rd_kafka_conf_properties_show) and checks:

1. Status: every property in it (scopes '*', 'P' and 'C') has the status README.md's
   "Every librdkafka property" table (or its consumer paragraph) gives it, as
   producer_builder_set_option shows it: honoured and ignored ones take a value
   librdkafka takes (0, and read back); "only v" takes v and refuses every other value
   librdkafka takes with "not supported"; "not supported[ yet]" refuses any value with
   that message. None is unknown (-2). The README names no property librdkafka lacks.
2. Values: for each property that is not refused outright, values made from its type
   and range (the edges, one past each edge, other spellings of booleans and enum
   values, garbage) are set through rd_kafka_conf_set and producer_builder_set_option.
   Both must accept, or both refuse, apart from DELIBERATE rows, the properties in
   DELIBERATE_PROPERTIES and an "only" property's other values (each a difference the
   README explains).
3. Warnings: a producer of each library is created with every ignored, deprecated or
   experimental property set; the CONFWARN lines each prints on stderr must be the
   same, apart from the time.

Ends with "N passed, N failed".
"""

import ctypes
import os
import re
import sys
import tempfile

import ablkafka_lib
import tally

# Properties librdkafka knows but leaves out of its list: name -> (status, a value, type).
HIDDEN = {
    "metadata.request.timeout.ms": ("ignored (deprecated)", "10", "integer"),
    "enable.sparse.connections": ("only true", "true", "boolean"),
    "enable_sasl_queue": ("not supported", "true", "boolean"),
    "test.mock.num.brokers": ("not supported", "1", "integer"),
    "test.mock.broker.rtt": ("not supported", "1", "integer"),
    "ut_handle_ProduceResponse": ("not supported", "x", ""),
    "ssl.truststore.location": ("not supported", "x", ""),
    "sasl.jaas.config": ("not supported", "x", ""),
}
# A value each library takes, where librdkafka's default is not one for ablkafka.
VALID = {
    "bootstrap.servers": "localhost", "metadata.broker.list": "localhost",
    "sasl.mechanism": "PLAIN", "sasl.mechanisms": "PLAIN",
}
# (property, value) -> why ablkafka differs on purpose (README, "Options").
DELIBERATE = {("builtin.features", f): "a feature ablkafka is built without: not supported"
              for f in ("regex", "sasl_gssapi", "plugins", "sasl_oauthbearer", "http", "oidc")}
# Properties whose every row differs on purpose.
DELIBERATE_PROPERTIES = {
    "bootstrap.servers": "ablkafka refuses an empty bootstrap.servers at set; librdkafka at rd_kafka_new",
    "metadata.broker.list": "alias of bootstrap.servers",
    "ssl.key.pem": "a secret: any value is accepted here and checked at build",
    "ssl.key.password": "a secret: any value is accepted here and checked at build",
    "sasl.password": "a secret: any value is accepted here and checked at build",
    "ssl.ca.pem": "PEM text: checked at build",
    "ssl.certificate.pem": "PEM text: checked at build",
    "ssl.ca.location": "a path: checked at build (librdkafka checks it at set)",
    "ssl.certificate.location": "a path: checked at build (librdkafka checks it at set)",
    "ssl.key.location": "a path: checked at build (librdkafka checks it at set)",
    "sasl.mechanisms": "GSSAPI and OAUTHBEARER are refused as not supported",
    "sasl.mechanism": "GSSAPI and OAUTHBEARER are refused as not supported",
}
STATUSES = ("honoured", "ignored (deprecated)", "ignored (consumer)", "not supported", "not supported yet")

# More values to compare for hidden properties: librdkafka takes any text here and
# sanitizes it for KIP-511 when the client starts; so does ablkafka (at build).
HIDDEN_VALUES = {
    "client.software.name": ["ablkafka", "librdkafka", "my app!", "-x_y.", "..", "\u00e9", ""],
    "client.software.version": ["0.1.0", "2.16.0", "1.2.3-rc1+build", "..", "\u00e9", ""],
}

def check(ok, what):
    return tally.check(ok, what, quiet=True)


def properties(rd):
    """Rows (scope, name, range, default, type, flags) of librdkafka's list."""
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    rd.rd_kafka_conf_properties_show.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile("r", suffix=".md") as out:
        f = libc.fopen(out.name.encode(), b"w")
        rd.rd_kafka_conf_properties_show(f)
        libc.fclose(f)
        text = out.read()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 6 or cells[1] not in ("*", "P", "C"):
            continue
        kind = re.search(r"\*Type: ([^*]+)\*", cells[5])
        notes = {"deprecated"} if "**DEPRECATED**" in cells[5] else set()
        notes |= {"experimental"} if "**EXPERIMENTAL**" in cells[5] else set()
        kind = kind.group(1) if kind else ""
        # builtin.features lists its flags as its default, not as its range.
        rng = cells[2] or (cells[3] if kind == "CSV flags" else "")
        rows.append((cells[1], cells[0], rng, cells[3], kind, notes))
    return rows


def readme_statuses(path):
    """name -> status from README's table and consumer paragraph."""
    text = open(path, encoding="utf-8").read()
    section = text[text.index("### Every librdkafka property"):text.index("## Security: TLS and SASL")]
    statuses = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 4 or not cells[1].startswith("`"):
            continue
        status = cells[2].replace("`", "")
        for name in re.findall(r"`([^`]+)`", cells[1]):
            check(name not in statuses, f"README names {name} twice")
            statuses[name] = status
    paragraph = section[section.index("**Consumer properties**"):]
    paragraph = paragraph[:paragraph.index("Each value is checked")]
    for name in re.findall(r"`([^`]+)`", paragraph):
        check(name not in statuses, f"README names {name} twice")
        statuses[name] = "ignored (consumer)"
    return statuses


def values_for(rng, kind):
    if kind == "boolean":
        return ["true", "false", "TRUE", "False", "t", "F", "1", "0", "yes", "no", "2", ""]
    if kind == "enum value":
        names = [v.strip() for v in rng.split(",") if v.strip()]
        return names + [n.upper() for n in names] + ["bogus", ""]
    if kind == "CSV flags":
        return [v.strip() for v in rng.split(",") if v.strip()] + ["bogus", ""]
    if kind == "pattern list":
        return ["", "^topic-[0-9]+$"]
    if kind in ("integer", "float"):
        m = re.match(r"(-?[0-9.]+) \.\. (-?[0-9.]+)", rng)
        if not m:
            return []
        lo, hi = m.group(1), m.group(2)
        vals = [lo, hi, "abc", ""]
        if kind == "integer":
            vals += [str(int(lo) - 1), str(int(hi) + 1)]
        else:
            vals += ["0.5", str(float(hi) + 1), "-1"]
        return vals
    if kind == "string":
        return ["value"]
    return []


def same_value(a, b, kind):
    """True when two values librdkafka takes ask for the same thing."""
    if kind == "boolean":
        return (a.lower() in ("true", "t", "1")) == (b.lower() in ("true", "t", "1"))
    if kind == "integer":
        return int(a) == int(b)
    return a.lower() == b.lower()


class Libraries:
    def __init__(self, ours_path, rd_path):
        self.ours = ablkafka_lib.load(ours_path)
        self.rd = rd = ctypes.CDLL(rd_path)
        rd.rd_kafka_conf_new.restype = ctypes.c_void_p
        rd.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        rd.rd_kafka_conf_destroy.argtypes = [ctypes.c_void_p]
        rd.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        rd.rd_kafka_new.restype = ctypes.c_void_p
        rd.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
        self.err = ctypes.create_string_buffer(512)

    def theirs(self, conf, name, value):
        self.err.value = b""
        return self.rd.rd_kafka_conf_set(conf, name.encode(), value.encode(), self.err, len(self.err))

    def mine(self, builder, name, value):
        """(code, message) of producer_builder_set_option."""
        code = self.ours.producer_builder_set_option(builder, name.encode(), value.encode())
        message = self.ours.producer_builder_last_error(builder)
        return code, (message or b"").decode(errors="replace")

    def readable(self, builder, name):
        return self.ours.producer_builder_get_option(builder, name.encode(), None, 0) >= 0


def check_status(libs, probe, scratch, name, status, rng, default, kind):
    """The status README gives `name` is what producer_builder_set_option does."""
    candidates = [default] + values_for(rng, kind)
    valid = VALID.get(name) or next((v for v in candidates if libs.theirs(scratch, name, v) == 0), None)
    if status.startswith("not supported"):
        code, message = libs.mine(probe, name, valid if valid is not None else "x")
        check(code == -1 and f"is {status}: " in message, f"{name} ({status}): {code} {message!r}")
        return
    if status.startswith("only "):
        only = status[len("only "):]
        only = "" if only == "empty" else only
        code, message = libs.mine(probe, name, only)
        check(code == 0 and libs.readable(probe, name), f"{name} ({status}) {only!r}: {code} {message!r}")
        for value in candidates:
            if libs.theirs(scratch, name, value) != 0 or same_value(value, only, kind):
                continue
            code, message = libs.mine(probe, name, value)
            check(code == -1 and "not supported" in message, f"{name} ({status}) {value!r}: {code} {message!r}")
        return
    check(status in STATUSES, f"{name}: README status {status!r} is none of {STATUSES}")
    code, message = libs.mine(probe, name, valid if valid is not None else "x")
    check(code == 0 and libs.readable(probe, name), f"{name} ({status}) {valid!r}: {code} {message!r}")


def confwarn_lines(stderr):
    """CONFWARN lines of librdkafka's log format, the time replaced by T."""
    lines = []
    for line in stderr.splitlines():
        m = re.match(r"^(%\d)\|\d+\.\d{3}\|(CONFWARN\|.*)$", line)
        if m:
            lines.append(f"{m.group(1)}|T|{m.group(2)}")
    return sorted(lines)


def captured_stderr(action):
    """Runs `action` with file descriptor 2 in a file; returns what was written."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            action()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode(errors="replace")


def check_warnings(libs, settings):
    """Both libraries print the same CONFWARN lines for the same settings."""
    settings = [("bootstrap.servers", "127.0.0.1:1")] + settings
    conf = libs.rd.rd_kafka_conf_new()
    for name, value in settings:
        check(libs.theirs(conf, name, value) == 0, f"librdkafka refuses {name}={value!r}: {libs.err.value!r}")
    builder = libs.ours.producer_builder_new()
    for name, value in settings:
        code, message = libs.mine(builder, name, value)
        check(code == 0, f"{name}={value!r}: {code} {message!r}")

    def theirs():
        rk = libs.rd.rd_kafka_new(0, conf, libs.err, len(libs.err))  # RD_KAFKA_PRODUCER
        check(rk, f"rd_kafka_new: {libs.err.value!r}")
        if rk:
            libs.rd.rd_kafka_destroy(rk)

    def ours():
        producer = libs.ours.producer_builder_build(builder)
        check(producer, f"producer_builder_build: {libs.ours.producer_builder_last_error(builder)!r}")
        if producer:
            libs.ours.producer_free(producer)

    expected = confwarn_lines(captured_stderr(theirs))
    got = confwarn_lines(captured_stderr(ours))
    libs.ours.producer_builder_free(builder)
    check(len(expected) >= len(settings) - 1, f"librdkafka printed {len(expected)} CONFWARN lines")
    for line in sorted(set(expected) | set(got)):
        check(expected.count(line) == got.count(line),
              f"CONFWARN line printed {expected.count(line)}x by librdkafka, {got.count(line)}x by ablkafka: {line}")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    libs = Libraries(sys.argv[1], sys.argv[2])
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")
    statuses = readme_statuses(readme)
    rows = properties(libs.rd)
    listed = {name for _, name, _, _, _, _ in rows}

    # 1. Statuses, once per name.
    probe = libs.ours.producer_builder_new()
    scratch = libs.rd.rd_kafka_conf_new()
    unknown, warned = [], []
    seen = set()
    for scope, name, rng, default, kind, notes in rows:
        if name in seen:
            continue
        seen.add(name)
        if libs.mine(probe, name, VALID.get(name, default))[0] == -2:
            unknown.append(name)
        status = statuses.get(name)
        if status is None:
            check(False, f"{name} (scope {scope}): no status in README's table or consumer paragraph")
            continue
        check(scope == "C" or status != "ignored (consumer)", f"{name} (scope {scope}) is no consumer property")
        check("deprecated" in notes or status != "ignored (deprecated)", f"{name}: librdkafka does not call it deprecated")
        check_status(libs, probe, scratch, name, status, rng, default, kind)
        if not status.startswith("not supported") and (notes or status == "ignored (consumer)"):
            only = status[len("only "):] if status.startswith("only ") else None
            warned.append((name, "" if only == "empty" else only or VALID.get(name, default)))
    for name, (status, value, kind) in HIDDEN.items():
        check(libs.mine(probe, name, value)[0] != -2, f"{name} (hidden): unknown (-2) to ablkafka")
        check_status(libs, probe, scratch, name, status, "", value, kind)
        if status.startswith("ignored"):
            warned.append((name, value))
    for name in statuses:
        check(name in listed, f"README gives {name} a status, but librdkafka does not list it")
    for name in unknown:
        check(False, f"{name}: unknown (-2) to ablkafka")
    libs.ours.producer_builder_free(probe)
    libs.rd.rd_kafka_conf_destroy(scratch)

    # 2. Values, row by row.
    builder = libs.ours.producer_builder_new()
    conf = libs.rd.rd_kafka_conf_new()
    compared = 0
    value_rows = [(name, values_for(rng, kind), default, statuses.get(name, "")) for _, name, rng, default, kind, _ in rows]
    value_rows += [(name, values, values[0], "honoured") for name, values in HIDDEN_VALUES.items()]
    for name, values, default, status in value_rows:
        if name in DELIBERATE_PROPERTIES or status.startswith("not supported"):
            continue
        for value in values:
            if (name, value) in DELIBERATE:
                continue
            theirs = libs.theirs(conf, name, value)
            mine, message = libs.mine(builder, name, value)
            compared += 1
            refused_only = status.startswith("only ") and theirs == 0 and mine == -1 and "not supported" in message
            check((theirs == 0) == (mine == 0) or refused_only,
                  f"{name}={value!r}: librdkafka {theirs} ({libs.err.value.decode(errors='replace')}), "
                  f"ablkafka {mine} ({message})")
        # Leave the default in place for the next properties' checks.
        libs.theirs(conf, name, default)
        libs.mine(builder, name, default)
    check(compared >= 300, f"only {compared} rows compared")
    libs.ours.producer_builder_free(builder)
    libs.rd.rd_kafka_conf_destroy(conf)

    # 3. The configuration warnings, line by line.
    check_warnings(libs, warned)

    print(f"conf_agreement: {compared} rows compared; {len(unknown)} properties of librdkafka unknown to "
          f"ablkafka; {len(warned)} warned about alike")
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main())
