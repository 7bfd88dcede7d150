"""The one training runner and its parts: a TrainConfig becomes one resumable MLflow run."""
