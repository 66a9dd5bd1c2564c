"""The report's command, `python -m lab.report`: the view itself is lab/views/report.py, outside the chain's code hash; this
entry point only hands over to it, so that the command stays short."""

from lab.views.report import main

if __name__ == "__main__":
    main()
