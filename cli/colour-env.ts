// Imported first by cli/main.ts, before any module that loads Node's colour code.
//
// NO_COLOR wins over FORCE_COLOR here (cli/output.ts). Node reads both too, from its own
// modules that the bundle loads (undici requires node:assert), and with both set on a
// terminal prints "Warning: The 'NO_COLOR' env is ignored due to the 'FORCE_COLOR' env
// being set" on stderr, as text even under --json; the same for NODE_DISABLE_COLORS, and
// for a NO_COLOR set but empty (which means nothing to us, as no-color.org says). Making
// this process's environment say what we decided first keeps Node quiet: FORCE_COLOR is
// dropped when NO_COLOR turns colour off; otherwise FORCE_COLOR stands, and the variables
// Node would only warn about are dropped. Children get the environment they are given
// explicitly (tools scrub theirs).
const env = process.env;
if (env.FORCE_COLOR !== undefined) {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') {
    delete env.FORCE_COLOR;
  } else {
    delete env.NO_COLOR;
    delete env.NODE_DISABLE_COLORS;
  }
}
