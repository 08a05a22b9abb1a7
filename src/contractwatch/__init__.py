"""contractwatch: follow public money from a government agency to the companies it pays."""

__version__ = "0.1.0"
