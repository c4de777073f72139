"""regtui: a terminal training monitor and regularization lab for PyTorch."""

__version__ = "0.1.0"
