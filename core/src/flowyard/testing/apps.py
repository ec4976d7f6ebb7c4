"""The seed's two apps as a module, so the canonical seed pipelines run wherever flowyard is installed.

``python -m flowyard.testing.apps activator MESSAGE`` prints the JSON message and writes
``activator_event.json``; ``... processor`` reads it, prints it and writes ``processor_event.json``
with ``"processed": true`` added; ``echo TEXT`` prints TEXT and writes ``{"text": TEXT}`` to
``echo.json`` (to check that arguments arrive byte for byte); ``env NAME...`` writes those variables
to ``env.json`` (to check secrets and env reach the step). The examples ship the seed's apps as standalone scripts for
images without flowyard.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["activator"] and len(argv) == 2:
        event = json.loads(argv[1])
        print(json.dumps(event, sort_keys=True))
        with open("activator_event.json", "w", encoding="utf-8") as f:
            json.dump(event, f, sort_keys=True)
        return 0
    if argv == ["processor"]:
        with open("activator_event.json", encoding="utf-8") as f:
            event = json.load(f)
        print(json.dumps(event, sort_keys=True))
        with open("processor_event.json", "w", encoding="utf-8") as f:
            json.dump({**event, "processed": True}, f, sort_keys=True)
        return 0
    if argv[:1] == ["echo"] and len(argv) == 2:
        print(argv[1])
        with open("echo.json", "w", encoding="utf-8") as f:
            json.dump({"text": argv[1]}, f, ensure_ascii=False)
        return 0
    if argv[:1] == ["env"] and len(argv) >= 2:
        with open("env.json", "w", encoding="utf-8") as f:
            json.dump({name: os.environ.get(name) for name in argv[1:]}, f)
        return 0
    print(
        "usage: python -m flowyard.testing.apps activator MESSAGE | processor | echo TEXT | env NAME...",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
