"""The Textual interface: it talks to training only through events."""
