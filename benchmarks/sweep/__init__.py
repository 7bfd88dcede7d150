"""Sweeps, the one way to launch a grid of runs: a named experiment expanded into runs
(``experiments``), each run's state read back from MLflow by the tag holding its key (``state``,
``tags``), the grid launched as one call (``grid``) through the launchers that train the runs
not yet done on this machine's one local pool or as Slurm job arrays through submitit
(``launch``, ``job``), and ``compare``, every method on one configuration in the same pool. A
run is one ``benchmarks.runner.train.train`` call, so it is one MLflow run that resumes from its
checkpoint wherever it is restarted."""
