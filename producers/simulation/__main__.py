"""``python -m producers.simulation``: see :mod:`producers.simulation.cli`."""

from producers.simulation.cli import main

if __name__ == "__main__":
    main()
