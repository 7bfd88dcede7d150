"""Acceptance checks: one prepared command that tries every device-specific path of the suite
and writes its own report (``comixup-bench gpu-check``).

- :mod:`~benchmarks.acceptance.gpu_check`: the plan of checks for a device and scale, run in
  order under a time budget, and the summary MLflow run;
- :mod:`~benchmarks.acceptance.device_info`: what the figures were measured on (device,
  CUDA, cuDNN, torch and driver versions, CPU and threads);
- :mod:`~benchmarks.acceptance.device_checks`: the torchrun process-group backend (NCCL on
  CUDA, gloo on the CPU) and the pinned-memory loaders;
- :mod:`~benchmarks.acceptance.timing_checks`: the CUDA-events timer and the timing grid;
- :mod:`~benchmarks.acceptance.training_checks`: training through the real runner, in process
  and under torchrun, each run read back from MLflow;
- :mod:`~benchmarks.acceptance.gpu_report`: the outcome of each check and the report files
  ``gpu-check.md`` and ``gpu-check.json``.
"""
