"""Sweeps: a named experiment expanded into runs (``experiments``), each run's state read back
from MLflow by the tag holding its key (``state``, ``tags``), and the launchers that train the
runs not yet done on this machine or as Slurm job arrays through submitit (``launch``,
``job``). A run is one ``benchmarks.runner.train.train`` call, so it is one MLflow run that resumes
from its checkpoint wherever it is restarted."""
