// Preloaded into the CLI by the benchmarks (node --import): reports the process's peak resident
// set size on exit, on stderr, where the benchmark picks it up. Linux reports maxRSS in KiB.
process.on('exit', () => {
  process.stderr.write(`\npeak-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
