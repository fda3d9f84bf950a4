"""Shared pieces of the Python side of the interoperability tests.

Every script here drives the real `sergeant` 0.27 package installed in .venv-sergeant/ (made
by scripts/python-venv.sh); the Swift tests in Tests/InteropTests start them as processes.

Values cross the process boundary as "typed JSON", so that the test can tell an int from a
float, bytes from a string, a tuple from a list and a datetime from a map:

    {"t": "nil"}                       None
    {"t": "bool", "v": true}           bool
    {"t": "int", "v": "-12"}           int (decimal text: no precision is lost)
    {"t": "float", "v": "3ff0..."}     float (the 8 big-endian IEEE 754 bytes in hex)
    {"t": "str", "v": "..."}           str
    {"t": "bytes", "v": "00ff"}        bytes (hex)
    {"t": "list", "v": [...]}          list
    {"t": "tuple", "v": [...]}         tuple
    {"t": "map", "v": [[k, v], ...]}   dict, keys typed too, in insertion order
    {"t": "datetime", "v": "41d9..."}  naive datetime, as the float bits of its .timestamp()
"""
import argparse
import datetime
import json
import logging
import os
import struct
import threading
import urllib.parse

import sergeant.config
import sergeant.worker


def float_to_hex(number: float) -> str:
    return struct.pack('>d', number).hex()


def hex_to_float(text: str) -> float:
    return struct.unpack('>d', bytes.fromhex(text))[0]


def to_typed(value):
    kind = type(value)
    if value is None:
        return {'t': 'nil'}
    if kind is bool:
        return {'t': 'bool', 'v': value}
    if kind is int:
        return {'t': 'int', 'v': str(value)}
    if kind is float:
        return {'t': 'float', 'v': float_to_hex(value)}
    if kind is str:
        return {'t': 'str', 'v': value}
    if kind is bytes:
        return {'t': 'bytes', 'v': value.hex()}
    if kind is list:
        return {'t': 'list', 'v': [to_typed(item) for item in value]}
    if kind is tuple:
        return {'t': 'tuple', 'v': [to_typed(item) for item in value]}
    if kind is dict:
        return {'t': 'map', 'v': [[to_typed(key), to_typed(item)] for key, item in value.items()]}
    if kind is datetime.datetime:
        return {'t': 'datetime', 'v': float_to_hex(value.timestamp())}
    raise TypeError(f'no typed JSON for {kind!r}')


def from_typed(typed):
    tag = typed['t']
    if tag == 'nil':
        return None
    if tag == 'bool':
        return bool(typed['v'])
    if tag == 'int':
        return int(typed['v'])
    if tag == 'float':
        return hex_to_float(typed['v'])
    if tag == 'str':
        return typed['v']
    if tag == 'bytes':
        return bytes.fromhex(typed['v'])
    if tag == 'list':
        return [from_typed(item) for item in typed['v']]
    if tag == 'tuple':
        return tuple(from_typed(item) for item in typed['v'])
    if tag == 'map':
        return {from_typed(key): from_typed(item) for key, item in typed['v']}
    if tag == 'datetime':
        return datetime.datetime.fromtimestamp(hex_to_float(typed['v']))
    raise ValueError(f'unknown typed JSON tag {tag!r}')


def redis_nodes(urls: str):
    """`redis://host:port/db,redis://...` -> sergeant's list of node dicts, in that order."""
    nodes = []
    for url in urls.split(','):
        parsed = urllib.parse.urlparse(url.strip())
        if parsed.scheme != 'redis' or not parsed.hostname:
            raise ValueError(f'not a redis URL: {url!r}')
        nodes.append({
            'host': parsed.hostname,
            'port': parsed.port or 6379,
            'password': parsed.password,
            'database': int(parsed.path.lstrip('/') or 0),
        })
    return nodes


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    environment = os.environ
    parser.add_argument('--redis', default=environment.get('INTEROP_REDIS', 'redis://127.0.0.1:6379/0'),
                        help='comma-separated redis URLs: the connector nodes, in order')
    parser.add_argument('--compressor', default=environment.get('INTEROP_COMPRESSOR', 'none'),
                        help='none, zlib, gzip, bzip2 or lzma')
    parser.add_argument('--queue', default=environment.get('INTEROP_QUEUE', 'interop'),
                        help="the worker's name, which is its queue")
    parser.add_argument('--deadline', type=float, default=120.0,
                        help='seconds after which the script gives up and exits with code 3')


def make_config(arguments: argparse.Namespace, **overrides) -> sergeant.config.WorkerConfig:
    compressor = None if arguments.compressor in ('', 'none') else arguments.compressor
    return sergeant.config.WorkerConfig(
        name=arguments.queue,
        connector=sergeant.config.Connector(
            type='redis',
            params={'nodes': redis_nodes(arguments.redis)},
        ),
        encoder=sergeant.config.Encoder(
            compressor=compressor,
            serializer='msgpack',
        ),
        logging=sergeant.config.Logging(
            level=logging.INFO,
            log_to_stdout=True,
        ),
        **overrides,
    )


def make_worker(arguments: argparse.Namespace, base=sergeant.worker.Worker, **overrides):
    """An instance of a `base` subclass configured from the arguments, with its broker up."""
    config = make_config(arguments, **overrides)

    class ConfiguredWorker(base):
        def generate_config(self) -> sergeant.config.WorkerConfig:
            return config

    worker = ConfiguredWorker()
    worker.init_worker()
    return worker


def start_deadline(seconds: float) -> None:
    """Ends the process with exit code 3 after `seconds`, whatever it is doing."""
    def expire() -> None:
        print(f'interop: deadline of {seconds} s reached, giving up', flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def write_json_line(path: str, record) -> None:
    with open(path, 'a', encoding='utf-8') as output:
        output.write(json.dumps(record, ensure_ascii=False) + '\n')
        output.flush()
        os.fsync(output.fileno())


def read_typed_lines(path: str):
    with open(path, encoding='utf-8') as lines:
        return [from_typed(json.loads(line)) for line in lines if line.strip()]
