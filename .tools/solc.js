// A `solc` command line over solc-js (npm `solc`): answers `--version` and `--standard-json`.
// Input and output go through files: piping solc-js output truncates it at 64 KiB, and reading a
// non-blocking stdin can fail with EAGAIN.
const fs = require('fs');
const solc = require('solc');
const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args[0] === '--standard-json-file') {
  const input = fs.readFileSync(args[1], 'utf8');
  fs.writeFileSync(args[2], solc.compile(input));
} else {
  process.stderr.write('this solc wrapper supports only --version and --standard-json\n');
  process.exit(1);
}
