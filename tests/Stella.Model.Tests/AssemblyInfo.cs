// TorchSharp's default generator is process-wide: tests that seed it and build models must not interleave,
// or weight initialisation (and with it the determinism tests) depends on thread timing.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
