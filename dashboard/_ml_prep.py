"""Old home of the ML feature preparation, kept for pipelines saved before the move.

A joblib pipeline pickles its date-expanding ``FunctionTransformer`` by reference, as
``dashboard._ml_prep.date_parts``; pipelines saved before ``dashboard.ml`` became a package
name this module. New pipelines name ``dashboard.ml._prep``.
"""

from dashboard.ml._prep import date_part_names, date_parts

__all__ = ["date_part_names", "date_parts"]
