"""Surveys: many images on Dask into a resumable catalogue, then a report and a vetting loop.

Modules: ``run`` (:func:`~areoscan.survey.run.survey`, what the verb and ``areoscan.run_survey(...)``
call), ``sources`` / ``foldersource`` / ``indexsource`` / ``footprint`` / ``pdsindex`` /
``listing`` (which images), ``engine`` (Dask), ``catalogue`` / ``catalogueschema`` (SQLite),
``report`` / ``interactive`` / ``pagecontrols`` / ``viewer`` / ``reportpage`` (publishing),
``vetting``.
"""
