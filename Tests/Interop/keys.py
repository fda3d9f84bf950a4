"""Sets and reads keys with Python sergeant's Worker.set_key / get_key.

    keys.py ... set --values-file F     F: one typed-JSON map per line, {name: value, ...}
    keys.py ... get --names a,b --report R
        R receives one JSON object {name: typed value, or null when the key is missing}.
"""
import argparse
import json

import interop_common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    interop_common.add_connection_arguments(parser)
    commands = parser.add_subparsers(dest='command', required=True)
    setter = commands.add_parser('set')
    setter.add_argument('--values-file', required=True)
    getter = commands.add_parser('get')
    getter.add_argument('--names', required=True)
    getter.add_argument('--report', required=True)
    arguments = parser.parse_args()
    interop_common.start_deadline(arguments.deadline)

    worker = interop_common.make_worker(arguments)
    if arguments.command == 'set':
        for values in interop_common.read_typed_lines(arguments.values_file):
            for name, value in values.items():
                worker.broker.set_key(name=name, value=value)
        print('keys set', flush=True)
    else:
        report = {}
        for name in arguments.names.split(','):
            # get_key returns the falsy raw value for a missing key: None.
            raw = worker.broker.connector.key_get(key=name)
            report[name] = None if raw is None else interop_common.to_typed(worker.broker.get_key(name=name))
        with open(arguments.report, 'w', encoding='utf-8') as output:
            json.dump(report, output, ensure_ascii=False)


if __name__ == '__main__':
    main()
