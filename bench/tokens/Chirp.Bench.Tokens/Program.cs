using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Chirp.Bench.Tokens.TokenValidationBenchmarks).Assembly).Run(args);
