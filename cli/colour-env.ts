// Imported first by cli/main.ts, before any module that loads Node's colour code.
//
// NO_COLOR wins over FORCE_COLOR here (cli/output.ts). Node reads both too, from its own
// modules that the bundle loads (undici requires node:assert), and with both set on a
// terminal prints "Warning: The 'NO_COLOR' env is ignored due to the 'FORCE_COLOR' env
// being set" on stderr, as text even under --json. Dropping FORCE_COLOR from this
// process's environment first makes Node agree with us and stay quiet. Children get the
// environment they are given explicitly (tools scrub theirs).
if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '' && process.env.FORCE_COLOR !== undefined) {
  delete process.env.FORCE_COLOR;
}
