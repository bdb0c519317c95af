"""`python -m lstmkit ...` and `torchrun ... -m lstmkit ...`: the `lstmkit` command."""

from lstmkit.cli import main

if __name__ == "__main__":
    main()
