"""Command-line flags and their translation into config objects.

Only this package and main.py read absl FLAGS; everything else takes config dataclasses.
"""
