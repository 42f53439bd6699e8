# Sourced by the other scripts and by the Makefile's recipes: where the test tools live.
#
# Everything that is installed for tests and the demo (the tansu broker, the Python
# virtual environment with confluent-kafka) goes into a cache outside the checkout,
# so a fresh clone (CI) reuses what an earlier run installed.

ABLKAFKA_CACHE="${ABLKAFKA_CACHE:-$HOME/.cache/ablkafka}"

# tansu, the Kafka-compatible broker the tests run against.
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
TANSU_ROOT="${TANSU_ROOT:-$ABLKAFKA_CACHE/tansu}"
TANSU_BIN="${TANSU_BIN:-$TANSU_ROOT/bin/tansu}"
TANSU_INSTALL_LOG="${TANSU_INSTALL_LOG:-$ABLKAFKA_CACHE/tansu-install.log}"

# The independent consumer: confluent-kafka 2.16.1 bundles librdkafka 2.16.
CONFLUENT_KAFKA_VERSION="${CONFLUENT_KAFKA_VERSION:-2.16.1}"
VENV_DIR="${VENV_DIR:-$ABLKAFKA_CACHE/venv}"
VENV_PYTHON="$VENV_DIR/bin/python"

export ABLKAFKA_CACHE TANSU_VERSION TANSU_ROOT TANSU_BIN TANSU_INSTALL_LOG
export CONFLUENT_KAFKA_VERSION VENV_DIR VENV_PYTHON
