"""Views of runs: the report (its tables, statistics, plots and page), the W&B workspace, the terminal view and the
sweep preview. They read run directories and settings and write none, and live here so that the chain's code hash
(lab/integrity.py) leaves them out by where they are: changing a view never makes a run refuse to resume."""
