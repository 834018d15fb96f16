global using Xunit;

// End-to-end runs each use both cores; running them one at a time keeps the suite predictable on 2 cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
