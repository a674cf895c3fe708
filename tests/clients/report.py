"""The output every client script prints, which tests/real_clients.rs reads.

`key=value` lines (None as empty, booleans as true/false, whitespace collapsed so each value
stays on its line), then `body=` followed by the body to the end.
"""

import sys


def print_result(result, keys):
    for key in keys:
        value = result[key]
        if value is None:
            value = ""
        elif isinstance(value, bool):
            value = "true" if value else "false"
        print(f"{key}={' '.join(str(value).split())}")
    sys.stdout.write("body=" + (result["body"] or ""))
    sys.stdout.flush()
