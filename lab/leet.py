"""The terminal view's command, `python -m lab.leet`: the view itself is lab/views/leet.py, outside the chain's code hash; this
entry point only hands over to it, so that the command stays short."""

from lab.views.leet import main

if __name__ == "__main__":
    main()
