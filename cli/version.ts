import pkg from '../package.json' with { type: 'json' };

/** The version printed by `palyrad --version`; esbuild inlines package.json at build time. */
export const PALYRA_VERSION: string = pkg.version;
