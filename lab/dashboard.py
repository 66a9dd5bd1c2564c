"""The W&B workspace's command, `python -m lab.dashboard`: the view itself is lab/views/dashboard.py, outside the chain's code hash; this
entry point only hands over to it, so that the command stays short."""

from lab.views.dashboard import main

if __name__ == "__main__":
    main()
