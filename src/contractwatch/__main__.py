"""`python -m contractwatch` and the `contractwatch` command start here.

The commands are imported inside `main`, not before it, so that a Ctrl+C while they load is
one line and exit 130 like any other interruption, not a traceback.
"""

import sys


def main() -> None:
    try:
        from contractwatch.cli import quiet_anywhere, start
        from contractwatch.cli.errors import run_safely

        quiet_anywhere()
        command = start(sys.argv[1:])
    except KeyboardInterrupt:
        print("interrupted before the command started; the store is unchanged", file=sys.stderr)
        sys.exit(130)
    sys.exit(run_safely(command))


if __name__ == "__main__":
    main()
