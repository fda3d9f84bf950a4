#!/usr/bin/env python3
"""Writes Tests/Fixtures/python-sergeant-0.27-tasks.json: the exact bytes Python sergeant 0.27's
encoder stores in Redis for one task, for kwargs of every kind, with no compressor and with each of
zlib, gzip, bzip2 and lzma, plus one pickle task (which the Swift side must refuse clearly).

Run it with the interpreter of .venv-sergeant (`make vectors` does): it imports sergeant itself,
so the bytes are Python's, not a re-implementation's.

Determinism: msgpack, zlib, bzip2 and lzma output depends only on the input (and the library
version); gzip's header holds the time of compression, so its vectors differ on every run. The
tests decode every vector and compare our own encoding with Python's uncompressed bytes only.
"""

import datetime
import json
import pathlib
import sys

import sergeant.encoder.encoder
import sergeant.objects

COMPRESSORS = [None, 'zlib', 'gzip', 'bzip2', 'lzma']
DATE = 1700000000.5
WHEN = 1709209845.5

# name -> (kwargs as Python holds them, trace_id, run_count)
CASES = {
    'seed': ({'some_parameter': 'one'}, None, 0),
    'mixed': ({'some_parameter': 'one', 'n': 42, 'f': 1.5, 'l': [1, 2], 'b': b'\x00\x01', 'none': None}, None, 0),
    'ints': ({
        'zero': 0, 'small': 127, 'neg': -1, 'neg5': -32, 'neg8': -128, 'neg16': -32768, 'neg32': -40000,
        'u16': 65535, 'u32': 4294967295, 'i64': -9000000000, 'min64': -2 ** 63, 'u64': 2 ** 64 - 1,
    }, 'trace-abc', 3),
    'floats': ({'half': 0.5, 'neg': -2.25, 'zero': 0.0, 'negzero': -0.0, 'huge': 1e300, 'tiny': 5e-324, 'pi': 3.141592653589793}, None, 0),
    'strings': ({'empty': '', 'uni': 'h\u00e9llo \u2603 \U0001F600', 'long': 'x' * 300}, None, 1),
    'bytes': ({'empty': b'', 'short': b'\xff\x00\xfe', 'long': bytes(range(256)) * 2}, None, 0),
    'nested': ({'m': {'a': [1, {'b': None}], 't': True, 'f': False}, 'lst': [[], {}, [1.25]]}, 't-1', 0),
    'deep': ({'d': {'a': {'b': {'c': {'d': {'e': [[[[['bottom']]]]]}}}}}}, None, 0),
    'extensions': ({
        'tuple': (1, 'a', None, 2.5),
        'empty_tuple': (),
        'when': datetime.datetime.fromtimestamp(WHEN, tz=datetime.timezone.utc),
        'nested': {'pair': (datetime.datetime.fromtimestamp(0, tz=datetime.timezone.utc), (1, 2))},
    }, 'trace-ext', 2),
}


def as_json(value):
    """The value as the Swift side reads it: bytes as {"$bytes": hex}, sergeant's tuple and
    datetime extensions as the maps they are on the wire."""
    if isinstance(value, bytes):
        return {'$bytes': value.hex()}
    if isinstance(value, tuple):
        return {'__tuple__': [as_json(item) for item in value]}
    if isinstance(value, datetime.datetime):
        return {'__datetime__': value.timestamp()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value


def main(output):
    vectors = []
    for name, (kwargs, trace_id, run_count) in CASES.items():
        task = sergeant.objects.Task(kwargs=kwargs, trace_id=trace_id, date=DATE, run_count=run_count)
        for compressor in COMPRESSORS:
            encoder = sergeant.encoder.encoder.Encoder(compressor_name=compressor, serializer_name='msgpack')
            data = encoder.encode(task)
            # Python reads its own bytes back to the same task (datetimes come back naive).
            assert encoder.serializer.serialize(encoder.decode(data)) == encoder.serializer.serialize(task), name
            vectors.append({
                'name': name, 'serializer': 'msgpack', 'compressor': compressor, 'hex': data.hex(),
                'kwargs_json': as_json(kwargs), 'trace_id': trace_id, 'date': DATE, 'run_count': run_count,
            })
    seed = sergeant.objects.Task(kwargs={'some_parameter': 'one'}, date=DATE)
    pickled = sergeant.encoder.encoder.Encoder(compressor_name=None, serializer_name='pickle').encode(seed)
    vectors.append({
        'name': 'seed-pickle', 'serializer': 'pickle', 'compressor': None, 'hex': pickled.hex(),
        'expect': 'refused: pickle is Python-only',
    })
    document = {
        'about': 'Byte vectors written by Python sergeant 0.27.0 (PyPI) Encoder, by scripts/python-vectors.py'
                 ' (make vectors). hex = the exact bytes stored in Redis for one task. kwargs_json shows the value'
                 ' (bytes as {"$bytes": hex}; tuples and datetimes as the __tuple__/__datetime__ maps of the wire).'
                 ' gzip vectors hold the time they were written, so they change on every run; the others do not.',
        'vectors': vectors,
    }
    pathlib.Path(output).write_text(json.dumps(document, indent=1, ensure_ascii=True) + '\n')
    print(f'wrote {len(vectors)} vectors to {output}')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'Tests/Fixtures/python-sergeant-0.27-tasks.json')
