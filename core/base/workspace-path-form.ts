import { posix } from 'node:path';

/**
 * The one spelling of a workspace path that policies judge and the file tools act on.
 *
 * Security: a policy such as `context.args.path like "secrets/*"` must catch every way of
 * naming those files, so `./secrets/key`, `secrets//key`, `secrets/./key/` and
 * `<workspace>/secrets/key` all become `secrets/key` (the workspace itself is `.`). The
 * file tools refuse a path that leads anywhere else once symbolic links are resolved
 * (resolveWorkspacePath), so what a policy saw is what is touched. A path with a `..`
 * segment or a NUL byte is returned as given: the tools refuse those outright, and a
 * policy testing for `..` still sees it. So is an absolute path outside `workspace`.
 */
export function workspacePathForm(requested: string, workspace: string): string {
  if (requested.includes('\0') || requested.split(/[\\/]/).includes('..')) return requested;
  let path = requested;
  if (posix.isAbsolute(path)) {
    if (workspace === '') return path;
    const rel = posix.relative(posix.normalize(workspace), posix.normalize(path));
    if (rel === '..' || rel.startsWith('../') || posix.isAbsolute(rel)) return path;
    path = rel;
  }
  path = posix.normalize(path === '' ? '.' : path);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
