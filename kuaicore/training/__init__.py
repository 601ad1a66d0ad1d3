"""Training of embedding models: ART loading, jitted sharded step, epoch loop, checkpoints, exports."""
