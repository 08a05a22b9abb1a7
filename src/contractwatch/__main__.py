"""`python -m contractwatch` and the `contractwatch` command start here.

The commands are imported inside `main`, not before it, so that a Ctrl+C while they load is
one line and exit 130 like any other interruption, not a traceback.
"""

import sys


def main() -> None:
    try:
        from contractwatch.cli import commands_for, quiet_anywhere
        from contractwatch.cli.errors import run_safely

        quiet_anywhere()
        app = commands_for(sys.argv[1:])  # only the named command's module (see cli)
    except KeyboardInterrupt:
        print("interrupted before the command started; the store is unchanged", file=sys.stderr)
        sys.exit(130)
    sys.exit(run_safely(app))


if __name__ == "__main__":
    main()
